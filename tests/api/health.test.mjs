import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getJson, startServer } from './helpers.mjs';

describe('health and routing', () => {
  let srv;
  before(async () => (srv = await startServer({ args: ['--access-log', 'stdout'] })));
  after(async () => srv && (await srv.stop()));

  test('GET /api/health answers like PocketBase', async () => {
    const r = await getJson(srv.url + '/api/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { message: 'API is healthy.', code: 200, data: {} });
    assert.equal(r.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-xss-protection'), '1; mode=block');
    assert.match(r.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
  });

  test('HEAD /api/health has the headers and no body', async () => {
    const res = await fetch(srv.url + '/api/health', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '50');
    assert.equal(await res.text(), '');
  });

  test('the SDK health check passes', async () => {
    const pb = new PocketBase(srv.url);
    const h = await pb.health.check();
    assert.equal(h.code, 200);
    assert.equal(h.message, 'API is healthy.');
  });

  test('an unknown route is a 404 in the error shape', async () => {
    const r = await getJson(srv.url + '/api/does-not-exist');
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { status: 404, message: "The requested resource wasn't found.", data: {} });
  });

  test('a known route with another method is a 405 with Allow', async () => {
    const r = await getJson(srv.url + '/api/health', { method: 'DELETE' });
    assert.equal(r.status, 405);
    assert.equal(r.body.status, 405);
    assert.match(r.headers.get('allow'), /GET/);
  });

  test('X-Request-Id is kept and echoed', async () => {
    const r = await getJson(srv.url + '/api/health', { headers: { 'X-Request-Id': 'trace-42' } });
    assert.equal(r.headers.get('x-request-id'), 'trace-42');
  });

  test('CORS preflight and simple requests', async () => {
    const pre = await fetch(srv.url + '/api/health', {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://localhost:5173',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.equal(pre.headers.get('access-control-allow-headers'), 'authorization,content-type');
    const simple = await fetch(srv.url + '/api/health', { headers: { Origin: 'http://localhost:5173' } });
    assert.equal(simple.headers.get('access-control-allow-origin'), '*');
  });

  test('with --access-log stdout every request is one JSON line on stdout with its request id', async () => {
    await getJson(srv.url + '/api/health', { headers: { 'X-Request-Id': 'log-me-1' } });
    let line;
    for (let i = 0; i < 50 && !line; i++) {
      await new Promise((r) => setTimeout(r, 50));
      line = srv.stdout().split('\n').find((l) => l.includes('"log-me-1"'));
    }
    assert.ok(line, 'access log line not found');
    const entry = JSON.parse(line);
    assert.equal(entry.method, 'GET');
    assert.equal(entry.path, '/api/health');
    assert.equal(entry.status, 200);
    assert.equal(entry.bytes, 50);
    assert.equal(entry.remote_ip, '127.0.0.1');
    assert.equal(typeof entry.duration_ms, 'number');
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

describe('CORS with configured origins', () => {
  let srv;
  before(async () => (srv = await startServer({ args: ['--origins', 'https://app.example,https://admin.example'] })));
  after(async () => srv && (await srv.stop()));

  test('only listed origins get CORS headers', async () => {
    const ok = await fetch(srv.url + '/api/health', { headers: { Origin: 'https://admin.example' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://admin.example');
    const bad = await fetch(srv.url + '/api/health', { headers: { Origin: 'https://evil.example' } });
    assert.equal(bad.headers.get('access-control-allow-origin'), null);
  });
});

describe('access log', () => {
  test('off by default; one JSON line per request in a file when asked', async () => {
    const plain = await startServer();
    try {
      await getJson(plain.url + '/api/health');
      await new Promise((r) => setTimeout(r, 300)); // the process log is written in batches
      assert.equal(/"msg":"request"/.test(plain.stdout()), false, 'no request lines unless asked');
    } finally {
      await plain.stop();
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'basalt-accesslog-'));
    const file = path.join(dir, 'access.log');
    const srv = await startServer({ args: ['--access-log', file] });
    try {
      const r = await fetch(srv.url + '/api/health?x=1', { headers: { 'X-Request-Id': 'abc123' } });
      assert.equal(r.status, 200);
      let lines = [];
      for (let i = 0; i < 50 && lines.length === 0; ++i) {
        await new Promise((res) => setTimeout(res, 50));
        lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
      }
      assert.equal(lines.length, 1, 'one line for one request');
      const line = JSON.parse(lines[0]);
      assert.equal(line.msg, 'request');
      assert.equal(line.method, 'GET');
      assert.equal(line.path, '/api/health');
      assert.equal(line.status, 200);
      assert.equal(line.request_id, 'abc123');
      assert.equal(line.remote_ip, '127.0.0.1');
      assert.equal(/"msg":"request"/.test(srv.stdout()), false, 'the file, not stdout');
    } finally {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
