// Helpers for the API tests: start the real basalt binary on a free port with a temp data dir,
// run its CLI, and speak raw HTTP over loopback.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.BASALT_BIN || path.join(root, 'build', 'basalt');

export function tempDir() {
  return mkdtempSync(path.join(os.tmpdir(), 'basalt-api-'));
}

/** Runs the CLI synchronously; returns {status, stdout, stderr}. */
export function cli(args, opts = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 60_000, ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same without blocking the event loop: for a CLI that talks to a server of this test process. */
export function cliAsync(args, opts = {}) {
  return new Promise((resolve) => {
    const p = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * Starts `basalt serve` on 127.0.0.1:0 and resolves once it prints its address.
 * Returns {url, port, dir, proc, stderr(), stdout(), stop(signal)}.
 */
export async function startServer({ args = [], env = {}, dir = tempDir(), superuser = null } = {}) {
  if (superuser) {
    const r = cli(['superuser', 'upsert', superuser.email, superuser.password, '--dir', dir]);
    if (r.status !== 0) throw new Error('superuser upsert failed: ' + r.stderr);
  }
  const proc = spawn(BIN, ['serve', '--http', '127.0.0.1:0', '--dir', dir, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start: ' + err)), 15_000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/Server started at (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${err}`));
    });
  });
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    dir,
    proc,
    exited,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const r = await exited;
      rmSync(dir, { recursive: true, force: true });
      return r;
    },
  };
}

/**
 * Sends raw bytes (optionally in timed pieces) and collects everything the server writes until it
 * closes the connection or `timeout` ms pass. Resolves {data, closed, ms}.
 */
export function raw(port, pieces, { timeout = 5000, gapMs = 0, keepOpen = false } = {}) {
  if (!Array.isArray(pieces)) pieces = [pieces];
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), timeout);
    sock.on('data', (d) => (data += d.toString('latin1')));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.on('connect', async () => {
      for (const p of pieces) {
        if (done || sock.destroyed) return;
        sock.write(p);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (!keepOpen) sock.end();
    });
  });
}

/** Splits a raw HTTP/1.1 byte stream into responses (Content-Length framing only). */
export function parseResponses(data) {
  const out = [];
  let rest = data;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    const [statusLine, ...lines] = head.split('\r\n');
    const headers = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] || 0);
    const body = rest.slice(end + 4, end + 4 + len);
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}

export async function getJson(url, opts = {}) {
  const res = await fetch(url, opts);
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits until the server at `url` answers /api/health again (after a restore restarts it).
export async function waitHealthy(url, tries = 300) {
  for (let i = 0; i < tries; i++) {
    try {
      if ((await fetch(url + '/api/health')).ok) return;
    } catch {
      // restarting
    }
    await sleep(50);
  }
  assert.fail('the server did not come back');
}

/** Runs one query with Debian's sqlite3 CLI on a database file; its output, trimmed. */
export function sqlite(db, query) {
  const r = spawnSync('sqlite3', [db, query], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** The status and error body of an SDK call expected to fail. */
export async function failure(promise) {
  try {
    await promise;
  } catch (e) {
    return { status: e.status, data: e.response };
  }
  assert.fail('expected the call to fail');
}
