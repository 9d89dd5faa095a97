// Prometheus metrics: who may read GET /api/metrics (superusers, or a scraper's bearer token from
// settings.metrics.token), the separate --metrics-http listener, that the series follow the traffic
// (requests by route pattern, database writes, realtime clients), that promtool accepts the text,
// and that a real Prometheus (Debian's package) scrapes both endpoints and answers queries over the
// scraped series.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import PocketBase from 'pocketbase';
import { sleep, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const TOKEN = 'scraper-token-0123456789abcdef';
const RECORDS_ROUTE = '/api/collections/{collection}/records';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Sample lines of the text format as {name, labels, value}.
function parseSamples(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

function valueOf(samples, name, labels = {}) {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found.reduce((sum, s) => sum + s.value, 0);
}

async function scrape(url, headers = {}) {
  const res = await fetch(url, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  return { res, text: await res.text() };
}

describe('metrics', () => {
  let srv;
  let su;
  let metricsBase;
  before(async () => {
    srv = await startServer({ superuser: SU, args: ['--metrics-http', '127.0.0.1:0'] });
    const m = srv.stderr().match(/Metrics: +(http:\/\/\S+)\/metrics/);
    assert.ok(m, 'the banner names the metrics listener: ' + srv.stderr());
    metricsBase = m[1];
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({
      name: 'notes',
      listRule: '',
      viewRule: '',
      createRule: '',
      fields: [{ name: 'title', type: 'text', required: true }],
    });
  });
  after(async () => srv && (await srv.stop()));

  test('guests get 401, users 403, superusers the text format', async () => {
    const guest = await fetch(srv.url + '/api/metrics');
    assert.equal(guest.status, 401);
    assert.equal((await guest.json()).status, 401);

    const users = new PocketBase(srv.url);
    await users.collection('users').create({ email: 'u@example.com', password: 'user-pass-123', passwordConfirm: 'user-pass-123' });
    await users.collection('users').authWithPassword('u@example.com', 'user-pass-123');
    const user = await fetch(srv.url + '/api/metrics', { headers: { Authorization: users.authStore.token } });
    assert.equal(user.status, 403);

    const { res, text } = await scrape(srv.url + '/api/metrics', { Authorization: su.authStore.token });
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(text, /^# HELP basalt_http_request_duration_seconds /m);
    assert.match(text, /^# TYPE process_resident_memory_bytes gauge$/m);
  });

  test('a scraper token from settings opens /api/metrics; short, wrong or unset tokens do not', async () => {
    const before = await fetch(srv.url + '/api/metrics', { headers: { Authorization: 'Bearer ' + TOKEN } });
    assert.equal(before.status, 401, 'no token is configured yet');

    await assert.rejects(su.settings.update({ metrics: { token: 'too-short' } }), (err) => {
      assert.equal(err.status, 400);
      assert.equal(err.response.data.metrics.token.code, 'validation_length_out_of_range');
      return true;
    });
    await su.settings.update({ metrics: { token: TOKEN } });
    const settings = await su.settings.getAll();
    assert.notEqual(settings.metrics.token, TOKEN, 'the token is a secret: never read back');

    await scrape(srv.url + '/api/metrics', { Authorization: 'Bearer ' + TOKEN });
    for (const wrong of ['Bearer ' + TOKEN.slice(0, -1), 'Bearer ' + TOKEN + 'x', TOKEN.slice(0, 16), 'Basic ' + TOKEN]) {
      const res = await fetch(srv.url + '/api/metrics', { headers: { Authorization: wrong } });
      assert.equal(res.status, 401, wrong);
    }
  });

  test('the metrics listener serves /metrics without a token and nothing of the API', async () => {
    const { text } = await scrape(metricsBase + '/metrics');
    assert.match(text, /^basalt_http_open_connections \d+$/m);
    assert.equal((await fetch(metricsBase + '/api/collections')).status, 404);
    assert.equal((await fetch(metricsBase + '/api/health')).status, 404);
  });

  test('series follow the traffic: requests by route pattern, database writes, realtime clients', async () => {
    const samplesNow = async () => parseSamples((await scrape(metricsBase + '/metrics')).text);
    const s0 = await samplesNow();
    const created0 = valueOf(s0, 'basalt_http_request_duration_seconds_count', { route: RECORDS_ROUTE, method: 'POST', status: '200' });
    const writes0 = valueOf(s0, 'basalt_db_writes_total', { result: 'ok' });

    const guest = new PocketBase(srv.url);
    for (let i = 0; i < 7; i++) await guest.collection('notes').create({ title: 'n' + i });
    const missing = await fetch(srv.url + '/api/collections/notes/records/doesnotexist12');
    assert.equal(missing.status, 404);
    await fetch(srv.url + '/no/such/route/at/all');

    // One realtime client, connected until the end of the test.
    const sse = await fetch(srv.url + '/api/realtime');
    const reader = sse.body.getReader();
    await reader.read(); // PB_CONNECT
    try {
      const s1 = await samplesNow();
      const created = valueOf(s1, 'basalt_http_request_duration_seconds_count', { route: RECORDS_ROUTE, method: 'POST', status: '200' });
      assert.equal(created - created0, 7, 'seven creates, counted under the route pattern, not the URL');
      assert.equal(valueOf(s1, 'basalt_http_request_duration_seconds_count', { route: RECORDS_ROUTE + '/{id}', method: 'GET', status: '404' }), 1);
      assert.ok(valueOf(s1, 'basalt_http_request_duration_seconds_count', { route: 'unmatched' }) >= 1);
      assert.ok(!s1.some((s) => s.labels.route?.includes('notes')), 'no URL (nor its ids) becomes a label value');
      const inf = valueOf(s1, 'basalt_http_request_duration_seconds_bucket', { route: RECORDS_ROUTE, method: 'POST', status: '200', le: '+Inf' });
      assert.equal(inf, created);
      assert.ok(valueOf(s1, 'basalt_db_writes_total', { result: 'ok' }) - writes0 >= 7);
      assert.ok(valueOf(s1, 'basalt_db_commit_duration_seconds_count') >= 7);
      assert.equal(valueOf(s1, 'basalt_realtime_clients'), 1);
      assert.ok(valueOf(s1, 'basalt_http_open_streams') >= 1);
      assert.ok(valueOf(s1, 'basalt_outbox_newest_id') >= 7);
      assert.ok(valueOf(s1, 'process_resident_memory_bytes') > 1e6);
      assert.ok(valueOf(s1, 'process_open_fds') > 3);
    } finally {
      await reader.cancel();
    }
  });

  test('promtool accepts the exposition', async () => {
    const { text } = await scrape(metricsBase + '/metrics');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.error, undefined, 'promtool (Debian package prometheus) must be installed');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), '', 'no lint findings');
  });

  test('every family the server exposes is in docs/operations.md\'s table, with its type', async () => {
    const { text } = await scrape(metricsBase + '/metrics');
    const doc = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/operations.md'), 'utf8');
    const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
    assert.ok(families.length >= 40, `families: ${families.length}`);
    for (const [name, type] of families) {
      assert.match(doc, new RegExp('^\\| `' + name + '` \\| ' + type + ' \\|', 'm'), `${name} (${type}) missing from the table`);
    }
  });

  test('a real Prometheus scrapes both endpoints and answers queries over the series', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'basalt-prom-'));
    const promPort = await freePort();
    const target = (u) => new URL(u).host;
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: basalt',
        `    static_configs: [{targets: ['${target(metricsBase)}']}]`,
        '  - job_name: basalt_api',
        '    metrics_path: /api/metrics',
        `    authorization: {credentials: '${TOKEN}'}`,
        `    static_configs: [{targets: ['${target(srv.url)}']}]`,
        '',
      ].join('\n'),
    );
    let log = '';
    const prom = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout.on('data', (d) => (log += d));
    prom.stderr.on('data', (d) => (log += d));
    const exited = new Promise((resolve) => prom.on('exit', resolve));
    const api = `http://127.0.0.1:${promPort}/api/v1`;
    const query = async (q) => {
      const res = await fetch(`${api}/query?query=${encodeURIComponent(q)}`);
      const body = await res.json();
      assert.equal(body.status, 'success', JSON.stringify(body));
      return body.data.result;
    };
    // Retries `check` (which throws until it holds) until it passes or the deadline.
    const eventually = async (what, check, ms = 30_000) => {
      const end = Date.now() + ms;
      for (;;) {
        try {
          return await check();
        } catch (err) {
          if (Date.now() > end || prom.exitCode !== null) {
            throw new Error(`${what}: ${err.message}\nprometheus log:\n${log.slice(-3000)}`);
          }
          await sleep(250);
        }
      }
    };
    try {
      await eventually('prometheus ready', async () => {
        const res = await fetch(`http://127.0.0.1:${promPort}/-/ready`);
        assert.equal(res.status, 200);
      });
      await eventually('both targets up', async () => {
        const res = await (await fetch(`${api}/targets`)).json();
        const health = Object.fromEntries(res.data.activeTargets.map((t) => [t.labels.job, t.health + ' ' + t.lastError]));
        assert.deepEqual(health, { basalt: 'up ', basalt_api: 'up ' });
      });
      const guest = new PocketBase(srv.url);
      for (let i = 0; i < 5; i++) await guest.collection('notes').create({ title: 'p' + i });
      await eventually('request series scraped', async () => {
        const r = await query(`sum(basalt_http_request_duration_seconds_count{job="basalt",route="${RECORDS_ROUTE}",method="POST",status="200"})`);
        assert.equal(r.length, 1);
        assert.ok(Number(r[0].value[1]) >= 12, `creates seen: ${r[0].value[1]}`);
      });
      const up = await query('up');
      assert.deepEqual(up.map((s) => [s.metric.job, s.value[1]]).sort(), [['basalt', '1'], ['basalt_api', '1']]);
      // A histogram quantile over the scraped buckets: Prometheus reads them as a histogram.
      const p99 = await query(
        `histogram_quantile(0.99, sum by (le) (basalt_http_request_duration_seconds_bucket{job="basalt",route="${RECORDS_ROUTE}"}))`,
      );
      assert.equal(p99.length, 1);
      const seconds = Number(p99[0].value[1]);
      assert.ok(seconds > 0 && seconds <= 10, `p99 ${seconds}`);
      const rss = await query('process_resident_memory_bytes{job="basalt_api"}');
      assert.ok(Number(rss[0].value[1]) > 1e6);
      const writes = await query('basalt_db_writes_total{job="basalt",result="ok"}');
      assert.ok(Number(writes[0].value[1]) >= 12);
    } finally {
      prom.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
