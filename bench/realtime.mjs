// Realtime benchmark client. Opens CONNECTIONS server-sent-event connections (raw sockets: the
// SDK's EventSource would cost more than the server), reports basalt's RSS per connection, then
// makes the first SUBSCRIBERS of them listen to `bench/*` while the rest stay connected on another
// topic, and creates RATE records per second for SECONDS: each record carries the time it was sent,
// each subscriber notes when its event arrives. Prints one JSON line.
//
//   node realtime.mjs <url> <superuser token> <basalt pid>
//   env: CONNECTIONS (10000) SUBSCRIBERS (1000) RATE (1000) SECONDS (10)
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { request, close } from './http.mjs';

const [url, token, pid] = process.argv.slice(2);
const CONNECTIONS = Number(process.env.CONNECTIONS || 10000);
const SUBSCRIBERS = Number(process.env.SUBSCRIBERS || 1000);
const RATE = Number(process.env.RATE || 1000);
const SECONDS = Number(process.env.SECONDS || 10);
const { hostname, port } = new URL(url);
const now = () => performance.timeOrigin + performance.now();

const rssKb = () => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

// One SSE connection: resolves its client id once PB_CONNECT arrives; `onData` sees later bytes.
function connect() {
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    let head = '';
    const c = { sock, id: '', measure: false, sample: false, delays: null, count: 0, pending: '' };
    sock.on('error', reject);
    sock.on('data', function first(d) {
      head += d.toString('latin1');
      const m = head.match(/"clientId":"([A-Za-z0-9]+)"/);
      if (!m) return;
      c.id = m[1];
      sock.off('data', first);
      sock.on('data', (chunk) => {
        if (!c.measure) return;
        const at = now();
        if (!c.sample) {
          // Count deliveries only (a frame per "event:bench" line): parsing every one would make
          // this client, not the server, the bottleneck.
          const text = c.pending + chunk.toString('latin1');
          let i = 0;
          while ((i = text.indexOf('event:bench', i)) >= 0) {
            c.count++;
            i += 11;
          }
          c.pending = text.slice(-10);
          return;
        }
        // Frames end with a blank line; a chunk may end mid-frame.
        const text = c.pending + chunk.toString('latin1');
        const last = text.lastIndexOf('\n\n');
        c.pending = last < 0 ? text : text.slice(last + 2);
        const done = last < 0 ? '' : text.slice(0, last);
        for (const m2 of done.matchAll(/"sent":([-0-9.eE+]+)/g)) {
          c.delays.push(at - Number(m2[1]));
          c.count++;
        }
      });
      resolve(c);
    });
    sock.write(`GET /api/realtime HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
  });
}

async function subscribe(c, topics) {
  await request(url, 'POST', '/api/realtime', { clientId: c.id, subscriptions: topics });
}

async function inBatches(items, size, fn) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

await request(url, 'POST', '/api/collections', {
  name: 'bench', type: 'base', listRule: '', viewRule: '', createRule: '',
  fields: [{ name: 'sent', type: 'number' }, { name: 'title', type: 'text' }],
}, token);
await request(url, 'POST', '/api/collections', { name: 'quiet', type: 'base', listRule: '', fields: [{ name: 'v', type: 'text' }] }, token);

const before = rssKb();
const clients = [];
await inBatches(Array.from({ length: CONNECTIONS }), 200, async () => clients.push(await connect()));
await inBatches(clients, 64, (c) => subscribe(c, ['quiet/*']));
await new Promise((r) => setTimeout(r, 500));
const after = rssKb();

const subs = clients.slice(0, SUBSCRIBERS);
// Every 10th subscriber notes each delay; all count their deliveries.
subs.forEach((c, i) => {
  c.measure = true;
  c.sample = i % 10 === 0;
  c.delays = [];
});
await inBatches(subs, 64, (c) => subscribe(c, ['bench/*']));

// The writer: RATE creates per second in 10 ms ticks over a keep-alive pool.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function create() {
  return new Promise((resolve) => {
    const body = JSON.stringify({ sent: now(), title: 'realtime benchmark record' });
    const req = http.request(url + '/api/collections/bench/records', {
      method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}
let sent = 0;
let failed = 0;
const started = now();
const inflight = [];
await new Promise((resolve) => {
  const tick = setInterval(() => {
    const due = Math.min(RATE * SECONDS, Math.floor(((now() - started) / 1000) * RATE));
    while (sent < due) {
      sent++;
      inflight.push(create().then((s) => { if (s !== 200) failed++; }));
    }
    if (sent >= RATE * SECONDS) {
      clearInterval(tick);
      resolve();
    }
  }, 10);
});
await Promise.all(inflight);
const elapsed = (now() - started) / 1000;
await new Promise((r) => setTimeout(r, 1000));

const all = [];
let complete = 0;
let deliveries = 0;
for (const c of subs) {
  all.push(...c.delays);
  deliveries += c.count;
  if (c.count === sent - failed) complete++;
}
all.sort((a, b) => a - b);
console.log(JSON.stringify({
  connections: clients.length,
  rss_before_kb: before,
  rss_after_kb: after,
  rss_per_connection_kb: Number(((after - before) / clients.length).toFixed(2)),
  subscribers: subs.length,
  writes: sent,
  write_failures: failed,
  writes_per_s: Math.round(sent / elapsed),
  deliveries,
  delay_samples: all.length,
  subscribers_with_every_event: complete,
  delay_p50_ms: Number(pct(all, 0.5)?.toFixed(2)),
  delay_p99_ms: Number(pct(all, 0.99)?.toFixed(2)),
  delay_max_ms: Number(all[all.length - 1]?.toFixed(2)),
}));
for (const c of clients) c.sock.destroy();
agent.destroy();
close();
