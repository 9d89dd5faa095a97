// Startup to first 200: spawns `basalt serve` on a fresh data dir and polls GET /api/health over a
// raw socket until it answers 200. Prints the median over N runs, in ms.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [bin, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function probe(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.on('connect', () => sock.write('GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    sock.on('data', (d) => (data += d));
    sock.on('close', () => resolve(data.startsWith('HTTP/1.1 200')));
    sock.on('error', () => resolve(false));
  });
}

const times = [];
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'basalt-startup-'));
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const proc = spawn(bin, ['serve', '--http', `127.0.0.1:${port}`, '--dir', dir], { stdio: 'ignore' });
  while (!(await probe(port))) {
    if (process.hrtime.bigint() - t0 > 10_000_000_000n) throw new Error('no 200 within 10 s');
  }
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  proc.kill('SIGTERM');
  await new Promise((r) => proc.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
console.log(times[Math.floor(times.length / 2)].toFixed(1));
