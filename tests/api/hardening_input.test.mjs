// Regression tests for the defects of the outside review, issue 11 (hardening): restarting on a port
// with TIME_WAIT sockets, the sign-in throttle (count before checking, per-IP counter reset by a
// success, settings.trustedProxy), slow one-record reads on an I/O thread, values that break readers
// (infinite numbers, invalid UTF-8, deep JSON), HTTP framing (RFC 9112 §6.3), page arithmetic, view
// queries over system tables, and IPv4-embedded IPv6 webhook targets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { EventSource } from 'eventsource';
import PocketBase from 'pocketbase';
import { BIN, getJson, parseResponses, raw, sleep, startServer, tempDir } from './helpers.mjs';

globalThis.EventSource = EventSource;

const SU = { email: 'root@example.com', password: 'root-password-1' };

async function waitFor(pred, ms = 5000, what = 'condition', detail = null) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}${detail ? ': ' + detail() : ''}`);
}

async function admin(srv) {
  const su = new PocketBase(srv.url);
  await su.collection('_superusers').authWithPassword(SU.email, SU.password);
  return su;
}

/** A JSON request; `body` is sent as given when it is a string (to send bytes JSON.stringify cannot). */
const send = (srv, method, path, { body, token, headers = {} } = {}) =>
  getJson(srv.url + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: token } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });

const signIn = (srv, identity, password, headers = {}) =>
  send(srv, 'POST', '/api/collections/users/auth-with-password', { body: { identity, password }, headers });

async function signUp(srv, email, password = 'secret-pass-1') {
  const r = await send(srv, 'POST', '/api/collections/users/records', { body: { email, password, passwordConfirm: password } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `basalt serve` on a fixed port; `outcome` resolves {started} or {started: false, code}. */
function serveOn(dir, port) {
  const proc = spawn(BIN, ['serve', '--http', `127.0.0.1:${port}`, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stdout.on('data', () => {});
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const outcome = new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ started: false, code: 'timeout' }), 15_000);
    proc.stderr.on('data', (d) => {
      err += d;
      if (/Server started at/.test(err)) {
        clearTimeout(timer);
        resolve({ started: true });
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      resolve({ started: false, code, signal });
    });
  });
  return {
    proc,
    exited,
    outcome,
    stderr: () => err,
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
describe('issue 11: hardening', () => {
  test('issue 11.6: a killed server starts again at once on its port (TIME_WAIT); a live one still refuses a second', async () => {
    const dir = tempDir();
    const dir2 = tempDir();
    const port = await freePort();
    const servers = [];
    try {
      const first = serveOn(dir, port);
      servers.push(first);
      assert.deepEqual(await first.outcome, { started: true }, first.stderr());
      // Connections the server closes first (Connection: close, the client keeps its side open):
      // each leaves a TIME_WAIT socket on the server's port.
      for (let i = 0; i < 5; i++) {
        const r = await raw(port, 'GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { keepOpen: true, timeout: 3000 });
        assert.equal(parseResponses(r.data)[0]?.status, 200);
        assert.equal(r.closed, true, 'the server closed the connection');
      }
      await first.kill('SIGKILL');

      const second = serveOn(dir, port);
      servers.push(second);
      const o = await second.outcome;
      assert.equal(o.started, true, `restart on port ${port} refused (${JSON.stringify(o)}): ${second.stderr()}`);
      assert.equal((await getJson(`http://127.0.0.1:${port}/api/health`)).status, 200);

      // A second live server on the same port is still refused, and says why.
      const third = serveOn(dir2, port);
      servers.push(third);
      const t = await third.outcome;
      assert.equal(t.started, false, 'a second server must not share a live port');
      assert.notEqual(t.code, 0, `exit code ${t.code}`);
      assert.notEqual(t.code, 'timeout', 'the second server neither started nor exited');
      assert.match(third.stderr(), /cannot listen|in use/i);
      assert.equal((await getJson(`http://127.0.0.1:${port}/api/health`)).status, 200, 'the first server still serves');
    } finally {
      for (const s of servers) await s.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      rmSync(dir2, { recursive: true, force: true });
    }
  });

  test('issue 11.7: concurrent wrong passwords for one identity: only the free quota reaches the hash, the rest get 429', async () => {
    const srv = await startServer();
    try {
      await signUp(srv, 'victim@example.com');
      const started = Date.now();
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => signIn(srv, 'victim@example.com', `wrong-password-${i}`)),
      );
      const statuses = results.map((r) => r.status);
      const count = (s) => statuses.filter((x) => x === s).length;
      assert.deepEqual(statuses.filter((s) => s !== 400 && s !== 429), [], 'only 400 or 429');
      // Throttle: 5 free failures per identity, the 6th closes the key; at most those 6 are checked.
      assert.ok(count(400) <= 6, `${count(400)} of 40 concurrent guesses were checked (400), at most 6 may be: ${statuses.join(',')}`);
      assert.ok(count(429) >= 34, `429s: ${count(429)}`);
      for (const r of results.filter((x) => x.status === 429)) {
        assert.match(r.headers.get('retry-after') || '', /^[1-9][0-9]*$/, 'a 429 carries Retry-After in seconds');
      }
      assert.ok(Date.now() - started < 20_000);
    } finally {
      await srv.stop();
    }
  });

  test('issue 11.8: settings.trustedProxy: the forwarded client IP keys the throttle and the sessions', async () => {
    const srv = await startServer({ superuser: SU });
    try {
      const su = await admin(srv);
      await signUp(srv, 'client@example.com');
      // Not configured (PocketBase's default: no headers): X-Forwarded-For is ignored.
      let s = await signIn(srv, 'client@example.com', 'secret-pass-1', { 'X-Forwarded-For': '198.51.100.7' });
      assert.equal(s.status, 200);
      let sessions = await send(srv, 'GET', '/api/sessions', { token: s.body.token });
      assert.equal(sessions.body.items.find((x) => x.current).ip, '127.0.0.1', 'an untrusted X-Forwarded-For is ignored');

      await su.settings.update({ trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: false } });
      const settings = await su.settings.getAll();
      assert.deepEqual(settings.trustedProxy.headers, ['X-Forwarded-For']);
      assert.equal(settings.trustedProxy.useLeftmostIP, false);
      assert.deepEqual(settings.trustedProxy.proxies, [], "basalt's list of trusted peers: empty trusts loopback and private networks");

      // PocketBase's RealIP(): the last value of the header, its right-most valid IP ...
      s = await signIn(srv, 'client@example.com', 'secret-pass-1', { 'X-Forwarded-For': '203.0.113.5, 198.51.100.7' });
      assert.equal(s.status, 200);
      sessions = await send(srv, 'GET', '/api/sessions', { token: s.body.token });
      assert.equal(sessions.body.items.find((x) => x.current).ip, '198.51.100.7', 'the session shows the forwarded IP');
      // ... or its left-most with useLeftmostIP.
      await su.settings.update({ trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: true } });
      s = await signIn(srv, 'client@example.com', 'secret-pass-1', { 'X-Forwarded-For': '203.0.113.5, 198.51.100.7' });
      assert.equal(s.status, 200);
      sessions = await send(srv, 'GET', '/api/sessions', { token: s.body.token });
      assert.equal(sessions.body.items.find((x) => x.current).ip, '203.0.113.5', 'useLeftmostIP takes the left-most');
      await su.settings.update({ trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: false } });

      // Attacker A (one forwarded IP) guesses distinct identities until the per-IP limit closes A ...
      const attacker = { 'X-Forwarded-For': '192.0.2.66' };
      let closedAt = 0;
      for (let i = 1; i <= 40 && !closedAt; i++) {
        const r = await signIn(srv, `nobody${i}@example.com`, 'guess-password', attacker);
        assert.ok(r.status === 400 || r.status === 429, String(r.status));
        if (r.status === 429) closedAt = i;
      }
      assert.ok(closedAt > 0, 'the per-IP limit closes the attacking IP');
      // ... and client B behind the same proxy still signs in, while A is still refused.
      const [b, a] = await Promise.all([
        signIn(srv, 'client@example.com', 'secret-pass-1', { 'X-Forwarded-For': '198.51.100.7' }),
        signIn(srv, 'nobody-more@example.com', 'guess-password', attacker),
      ]);
      assert.equal(a.status, 429, 'the attacker is still closed');
      assert.equal(b.status, 200, `client B is locked out by attacker A's failures: ${JSON.stringify(b.body)}`);
    } finally {
      await srv.stop();
    }
  });

  test('issue 11.8: without trustedProxy, rotating X-Forwarded-For does not dodge the per-IP throttle', async () => {
    const srv = await startServer();
    try {
      let closedAt = 0;
      for (let i = 1; i <= 40 && !closedAt; i++) {
        const r = await signIn(srv, `nobody${i}@example.com`, 'guess-password', { 'X-Forwarded-For': `10.7.${i}.${i}` });
        assert.ok(r.status === 400 || r.status === 429, String(r.status));
        if (r.status === 429) closedAt = i;
      }
      assert.ok(closedAt > 0 && closedAt <= 33, `the per-IP limit (30 free failures) closed at attempt ${closedAt}`);
    } finally {
      await srv.stop();
    }
  });

  test('issue 11.9: slow one-record reads of a view do not hold up /api/health', async () => {
    // One I/O thread makes the test deterministic: a read that runs on it blocks every other request.
    const srv = await startServer({ superuser: SU, args: ['--threads', '1'] });
    try {
      const su = await admin(srv);
      const viewQuery =
        "SELECT 'slowrow' AS id, (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) " +
        'SELECT count(*) FROM c) AS n';
      await su.collections.create({ name: 'slow', type: 'view', listRule: '', viewRule: '', viewQuery });
      const readOne = async () => {
        const t = Date.now();
        const r = await raw(srv.port, 'GET /api/collections/slow/records/slowrow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { keepOpen: true, timeout: 30_000 });
        return { res: parseResponses(r.data)[0], ms: Date.now() - t };
      };
      const solo = await readOne();
      assert.equal(solo.res?.status, 200, solo.res?.body);
      assert.equal(JSON.parse(solo.res.body).n, 3000000);
      assert.ok(solo.ms >= 150, `the view read must be slow for this test to mean anything (${solo.ms} ms)`);

      const reads = Promise.all(Array.from({ length: 4 }, readOne));
      await sleep(50);
      const health = [];
      for (let i = 0; i < 4; i++) {
        const t = Date.now();
        const r = await raw(srv.port, 'GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { keepOpen: true, timeout: 30_000 });
        health.push({ status: parseResponses(r.data)[0]?.status, ms: Date.now() - t });
        await sleep(20);
      }
      const done = await reads;
      for (const d of done) assert.equal(d.res?.status, 200);
      for (const h of health) assert.equal(h.status, 200);
      const worst = Math.max(...health.map((h) => h.ms));
      assert.ok(
        worst < 500,
        `/api/health took ${worst} ms during 4 slow reads (one read alone: ${solo.ms} ms; health: ${health.map((h) => h.ms).join(',')})`,
      );
    } finally {
      await srv.stop();
    }
  });

  test('issue 11.10: a successful sign-in does not reset the per-IP failure count', async () => {
    const srv = await startServer();
    try {
      await signUp(srv, 'attacker@example.com', 'attacker-pass-1');
      let closedAt = 0;
      const log = [];
      for (let i = 1; i <= 40 && !closedAt; i++) {
        // A different victim each time: the per-identity limit never applies, only the per-IP one.
        const r = await signIn(srv, `victim${i}@example.com`, 'guess-password');
        log.push(r.status);
        assert.ok(r.status === 400 || r.status === 429, String(r.status));
        if (r.status === 429) {
          closedAt = i;
          break;
        }
        if (i % 3 === 0) log.push('ok:' + (await signIn(srv, 'attacker@example.com', 'attacker-pass-1')).status);
      }
      // 30 free failures per IP, the 31st closes it: the 32nd guess (give or take one) is refused.
      assert.ok(closedAt > 0 && closedAt <= 33, `the per-IP limit never closed (closed at ${closedAt}): ${log.join(' ')}`);
    } finally {
      await srv.stop();
    }
  });

  describe('issue 11.12: values that break readers', () => {
    test('issue 11.12: an infinite number (1e400) in a JSON body is a validation error', async () => {
      const srv = await startServer({ superuser: SU });
      try {
        const su = await admin(srv);
        await su.collections.create({
          name: 'docs', listRule: '', viewRule: '', createRule: '', updateRule: '',
          fields: [{ name: 'n', type: 'number' }, { name: 'data', type: 'json' }, { name: 't', type: 'text' }],
        });
        const ok = await send(srv, 'POST', '/api/collections/docs/records', { body: '{"n":1e300,"data":{"x":1.5e300}}' });
        assert.equal(ok.status, 200, 'finite large numbers are fine');
        for (const [body, field] of [
          ['{"n":1e400}', 'n'],
          ['{"n":-1e400}', 'n'],
          ['{"data":{"x":1e400}}', 'data'],
          ['{"data":[1,2,-1e999]}', 'data'],
        ]) {
          const r = await send(srv, 'POST', '/api/collections/docs/records', { body });
          assert.equal(r.status, 400, `${body}: ${r.status} ${JSON.stringify(r.body)}`);
          assert.equal(typeof r.body?.data?.[field]?.code, 'string', `${body}: data.${field}.code in ${JSON.stringify(r.body)}`);
        }
        const upd = await send(srv, 'PATCH', `/api/collections/docs/records/${ok.body.id}`, { body: '{"n":1e400}' });
        assert.equal(upd.status, 400, JSON.stringify(upd.body));
        assert.equal(typeof upd.body?.data?.n?.code, 'string', JSON.stringify(upd.body));
        const list = await send(srv, 'GET', '/api/collections/docs/records');
        assert.equal(list.status, 200);
        assert.equal(list.body.totalItems, 1, 'nothing infinite was stored');
      } finally {
        await srv.stop();
      }
    });

    test('issue 11.12: invalid UTF-8 in urlencoded and multipart text values is refused', async () => {
      const srv = await startServer({ superuser: SU });
      try {
        const su = await admin(srv);
        await su.collections.create({ name: 'docs', listRule: '', viewRule: '', createRule: '', fields: [{ name: 't', type: 'text' }] });
        const url = `${srv.url}/api/collections/docs/records`;
        const post = async (contentType, body) => {
          const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': contentType }, body });
          return { status: res.status, body: await res.text() };
        };
        // Controls: valid UTF-8 in both encodings is stored.
        let r = await post('application/x-www-form-urlencoded', 't=h%C3%A9llo');
        assert.equal(r.status, 200, r.body);
        assert.equal(JSON.parse(r.body).t, 'héllo');
        const multipart = (bytes) => {
          const b = 'XbasaltBoundary';
          const body = Buffer.concat([
            Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="t"\r\n\r\n`),
            bytes,
            Buffer.from(`\r\n--${b}--\r\n`),
          ]);
          return post(`multipart/form-data; boundary=${b}`, body);
        };
        r = await multipart(Buffer.from('héllo'));
        assert.equal(r.status, 200, r.body);
        assert.equal(JSON.parse(r.body).t, 'héllo');

        for (const v of ['%FF%FE', 'a%C3', '%C0%AF', '%ED%A0%80', 'ok%F8%88%80%80%80']) {
          r = await post('application/x-www-form-urlencoded', `t=${v}`);
          assert.equal(r.status, 400, `urlencoded t=${v}: ${r.status} ${r.body}`);
        }
        for (const bytes of [[0xff, 0xfe], [0x61, 0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
          r = await multipart(Buffer.from(bytes));
          assert.equal(r.status, 400, `multipart ${bytes}: ${r.status} ${r.body}`);
        }
        const list = await send(srv, 'GET', '/api/collections/docs/records');
        assert.equal(list.body.totalItems, 2, 'only the two valid records were stored');
      } finally {
        await srv.stop();
      }
    });

    test('issue 11.12: JSON nested 33-64 deep either round-trips (reads and realtime) or is refused at write time', async () => {
      const srv = await startServer({ superuser: SU });
      const pb = new PocketBase(srv.url);
      try {
        const su = await admin(srv);
        await su.collections.create({
          name: 'docs', listRule: '', viewRule: '', createRule: '', fields: [{ name: 'data', type: 'json' }],
        });
        const got = [];
        await pb.collection('docs').subscribe('*', (e) => got.push(e));
        const nested = (depth) => {
          let v = 1;
          for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
          return v;
        };
        let refusedFrom = 0;
        const outcomes = [];
        for (const depth of [30, 33, 40, 48, 63, 64]) {
          const data = nested(depth);
          const r = await send(srv, 'POST', '/api/collections/docs/records', { body: { data } });
          outcomes.push(`${depth}:${r.status}`);
          if (r.status === 400) {
            if (!refusedFrom) refusedFrom = depth;
            continue;
          }
          assert.equal(r.status, 200, `depth ${depth}: ${JSON.stringify(r.body).slice(0, 200)}`);
          assert.equal(refusedFrom, 0, `depth ${depth} accepted after depth ${refusedFrom} was refused: one depth limit (${outcomes})`);
          assert.deepEqual(r.body.data, data, `depth ${depth}: the create response`);
          const one = await send(srv, 'GET', `/api/collections/docs/records/${r.body.id}`);
          assert.equal(one.status, 200);
          assert.deepEqual(one.body.data, data, `depth ${depth}: read back as the same JSON, not ${typeof one.body.data}`);
          const list = await send(srv, 'GET', `/api/collections/docs/records?filter=${encodeURIComponent(`id="${r.body.id}"`)}`);
          assert.deepEqual(list.body.items[0]?.data, data, `depth ${depth}: in a list`);
          await waitFor(() => got.some((e) => e.record?.id === r.body.id), 3000, `the realtime create event of depth ${depth}`);
          assert.deepEqual(got.find((e) => e.record.id === r.body.id).record.data, data, `depth ${depth}: realtime`);
        }
        assert.notEqual(outcomes[0], '30:400', 'depth 30 is fine');
      } finally {
        pb.realtime.subscriptions = {};
        pb.realtime.disconnect();
        await srv.stop();
      }
    });
  });

  describe('issue 11.13: HTTP framing (RFC 9112 §6.3)', () => {
    const smuggled = 'GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n';
    const cases = [
      ['Transfer-Encoding: gzip (not chunked)', 'Transfer-Encoding: gzip\r\n', smuggled, [400]],
      ['Transfer-Encoding: an unknown coding', 'Transfer-Encoding: basalt-unknown\r\n', smuggled, [400]],
      ['Transfer-Encoding: chunked, gzip (chunked not last)', 'Transfer-Encoding: chunked, gzip\r\n', smuggled, [400]],
      ['two Transfer-Encoding lines, chunked not last', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n', smuggled, [400]],
      ['Transfer-Encoding and Content-Length', `Content-Length: ${5 + smuggled.length}\r\nTransfer-Encoding: chunked\r\n`, '0\r\n\r\n' + smuggled, [400]],
      ['Content-Length and Transfer-Encoding (other order)', `Transfer-Encoding: chunked\r\nContent-Length: ${5 + smuggled.length}\r\n`, '0\r\n\r\n' + smuggled, [400]],
      // RFC 9112 §6.1: a coding the server does not understand, even before chunked: 501 (or 400).
      ['an unknown coding before chunked', 'Transfer-Encoding: basalt-unknown, chunked\r\n', '0\r\n\r\n' + smuggled, [400, 501]],
    ];
    test('issue 11.13: ambiguous or unsupported Transfer-Encoding: 400, connection closed, the body is never a request', async () => {
      const srv = await startServer();
      try {
        const failures = [];
        for (const [name, headers, body, allowed] of cases) {
          const req = `POST /api/health HTTP/1.1\r\nHost: x\r\n${headers}\r\n${body}`;
          const r = await raw(srv.port, req, { keepOpen: true, timeout: 1000 });
          const responses = parseResponses(r.data);
          const why = `${name}: ${responses.length} response(s) [${responses.map((x) => x.status)}], closed=${r.closed}`;
          if (responses.length !== 1 || !allowed.includes(responses[0].status) || !r.closed) failures.push(why);
        }
        // The server survived, and a well-framed request on one connection still gets its answers.
        const ok = await raw(srv.port, 'POST /api/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' + smuggled, { keepOpen: true, timeout: 1000 });
        assert.deepEqual(parseResponses(ok.data).map((x) => x.status).length, 2, 'a well-framed chunked request then a pipelined one');
        assert.deepEqual(failures, []);
      } finally {
        await srv.stop();
      }
    });
  });

  describe('issue 11.14: page arithmetic', () => {
    let srv;
    let su;
    let hook;
    const max = '9223372036854775807';
    const lists = () => ['/api/collections/items/records', '/api/jobs', `/api/webhooks/${hook.id}/deliveries`, '/api/collections'];
    before(async () => {
      srv = await startServer({ superuser: SU });
      su = await admin(srv);
      await su.collections.create({ name: 'items', listRule: '', viewRule: '', createRule: '', fields: [{ name: 'v', type: 'text' }] });
      // A webhook first, so that the records give the jobs and deliveries lists items too.
      const h = await send(srv, 'POST', '/api/webhooks', { body: { url: 'http://example.invalid/hook' }, token: su.authStore.token });
      assert.equal(h.status, 200, JSON.stringify(h.body));
      hook = h.body;
      for (let i = 0; i < 3; i++) await su.collection('items').create({ v: `v${i}` });
      await waitFor(async () => (await send(srv, 'GET', `/api/webhooks/${hook.id}/deliveries`, { token: su.authStore.token })).body.items?.length === 3, 5000, 'deliveries');
      assert.ok((await send(srv, 'GET', '/api/jobs', { token: su.authStore.token })).body.items.length > 0, 'jobs to list');
    });
    after(async () => srv && (await srv.stop()));

    // PocketBase's normalisation (tools/search/provider.go): page <= 0 -> 1; perPage <= 0 -> 30;
    // perPage > 1000 -> 1000; not an integer (strconv.Atoi fails) -> 400.
    test('issue 11.14: out-of-range page and perPage are normalised as PocketBase', async () => {
      for (const base of ['/api/collections/items/records', '/api/collections']) {
        for (const [q, page, perPage] of [
          ['page=-1', 1, 30], ['page=0', 1, 30], ['perPage=0', 1, 30], ['perPage=-5', 1, 30],
          [`perPage=${max}`, 1, 1000], ['perPage=5000', 1, 1000], ['page=-9223372036854775808', 1, 30],
        ]) {
          const r = await send(srv, 'GET', `${base}?${q}`, { token: su.authStore.token });
          assert.equal(r.status, 200, `${base}?${q}`);
          assert.equal(r.body.page, page, `${base}?${q} page`);
          assert.equal(r.body.perPage, perPage, `${base}?${q} perPage`);
          assert.ok(r.body.items.length > 0, `${base}?${q} items`);
        }
        for (const q of ['page=99999999999999999999', 'perPage=1e3', 'page=abc']) {
          assert.equal((await send(srv, 'GET', `${base}?${q}`, { token: su.authStore.token })).status, 400, `${base}?${q}`);
        }
      }
    });

    test('issue 11.14: a huge page never overflows: 200 with no items or 400, never 500 or a crash', async () => {
      const bad = [];
      lists: for (const base of lists()) {
        for (const q of [`page=${max}`, `page=${max}&perPage=1000`, `page=${max}&perPage=2`, `page=${max}&perPage=${max}`, `page=4611686018427387904&perPage=30`, `perPage=${max}`]) {
          let r;
          try {
            r = await send(srv, 'GET', `${base}?${q}`, { token: su.authStore.token });
          } catch (e) {
            await sleep(100);
            bad.push(`${base}?${q}: no answer (${e.cause?.code || e.message}); server exit: ${srv.proc.exitCode ?? srv.proc.signalCode}`);
            break lists;
          }
          const fine = r.status === 400 || (r.status === 200 && Array.isArray(r.body?.items) && (q.startsWith('page=') ? r.body.items.length === 0 : true));
          if (!fine) bad.push(`${base}?${q} -> ${r.status} ${JSON.stringify(r.body).slice(0, 120)}`);
        }
      }
      assert.deepEqual(bad, [], 'a huge page is 200 with no items, or 400');
      assert.equal(srv.proc.exitCode ?? srv.proc.signalCode, null, 'the server did not crash');
      assert.equal((await send(srv, 'GET', '/api/health')).status, 200);
    });
  });

  test('issue 11.15: view queries may not read system tables', async () => {
    const srv = await startServer({ superuser: SU });
    try {
      const su = await admin(srv);
      const create = (name, viewQuery) =>
        send(srv, 'POST', '/api/collections', { body: { name, type: 'view', listRule: '', viewRule: '', viewQuery }, token: su.authStore.token });
      // Control: a view over ordinary collections is fine.
      const fine = await create('fine', 'SELECT id, email FROM users');
      assert.equal(fine.status, 200, JSON.stringify(fine.body));

      const queries = [
        'SELECT id, password FROM _superusers',
        'SELECT id, tokenKey FROM _superusers',
        'SELECT id, options FROM _collections',
        'SELECT id, ip FROM _sessions',
        'SELECT id, providerId FROM _externalAuths',
        'SELECT key AS id, value FROM _params',
        'SELECT id, hash FROM _apiKeys',
        'SELECT id, secret FROM _webhooks',
        'SELECT id, password FROM _otps',
        'SELECT recordId AS id, secret FROM _totps',
        'SELECT id, method FROM _mfas',
        'SELECT name AS id, sql FROM sqlite_master',
        'SELECT CAST(id AS TEXT) AS id, record FROM _events',
        'SELECT CAST(id AS TEXT) AS id, definition FROM _schema_history',
        'SELECT id, lastError FROM _jobs',
        // the same reads, less directly
        'SELECT u.id, (SELECT value FROM _params LIMIT 1) AS v FROM users u',
        'SELECT u.id, s.password FROM users u JOIN _superusers s ON 1 = 1',
        'WITH t AS (SELECT key, value FROM _params) SELECT key AS id, value FROM t',
        'SELECT id, options FROM "_COLLECTIONS"',
        'SELECT id, password FROM main._superusers',
      ];
      const accepted = [];
      for (const [i, q] of queries.entries()) {
        const r = await create(`leak${i}`, q);
        if (r.status !== 400 || typeof r.body?.data?.viewQuery?.code !== 'string') accepted.push(`${q} -> ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
      }
      assert.deepEqual(accepted, [], 'each is refused with a viewQuery validation error');
      // Nor through an update of an existing view.
      const upd = await send(srv, 'PATCH', '/api/collections/fine', { body: { viewQuery: 'SELECT id, password FROM _superusers' }, token: su.authStore.token });
      assert.equal(upd.status, 400, JSON.stringify(upd.body));
      assert.equal(typeof upd.body?.data?.viewQuery?.code, 'string');
    } finally {
      await srv.stop();
    }
  });

  test('text patterns: a long value never crashes the match, and a pattern that does not compile is refused at save', async () => {
    const srv = await startServer({ superuser: SU });
    try {
      const su = await admin(srv);
      const token = su.authStore.token;
      const col = await send(srv, 'POST', '/api/collections', {
        token,
        body: { name: 'rx', createRule: '', fields: [{ name: 't', type: 'text', pattern: '^(a|b)*$', max: 2000000 }] },
      });
      assert.equal(col.status, 200, JSON.stringify(col.body));
      // std::regex (recursive) overflowed the stack here at 100,000 characters and killed the server
      const long = await send(srv, 'POST', '/api/collections/rx/records', { body: { t: 'ab'.repeat(500000) } });
      assert.equal(long.status, 200, JSON.stringify(long.body).slice(0, 200));
      const bad = await send(srv, 'POST', '/api/collections/rx/records', { body: { t: 'a'.repeat(500000) + 'c' } });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.data.t.code, 'validation_invalid_format');
      // a search anywhere in the value, as Go's regexp.MatchString
      const anywhere = await send(srv, 'POST', '/api/collections', {
        token,
        body: { name: 'rx2', createRule: '', fields: [{ name: 't', type: 'text', pattern: '[0-9]{3}' }] },
      });
      assert.equal(anywhere.status, 200);
      assert.equal((await send(srv, 'POST', '/api/collections/rx2/records', { body: { t: 'call 555 now' } })).status, 200);
      assert.equal((await send(srv, 'POST', '/api/collections/rx2/records', { body: { t: 'call 55 now' } })).status, 400);
      // patterns that do not compile: PocketBase's validation_invalid_regex, on the field's option
      for (const [key, pattern] of [['pattern', '(unclosed'], ['pattern', 'a{1001}{1001}'], ['autogeneratePattern', '[z-a]']]) {
        const r = await send(srv, 'POST', '/api/collections', {
          token,
          body: { name: 'rxbad', fields: [{ name: 't', type: 'text', [key]: pattern }] },
        });
        assert.equal(r.status, 400, `${key} ${pattern}: ${JSON.stringify(r.body)}`);
        // index 1: the id field comes first, as PocketBase adds it
        assert.equal(r.body.data.fields['1']?.[key]?.code, 'validation_invalid_regex', JSON.stringify(r.body));
      }
      assert.equal(srv.proc.exitCode ?? srv.proc.signalCode, null, 'the server did not crash');
    } finally {
      await srv.stop();
    }
  });

  test('issue 11.16: IPv4-embedded IPv6 webhook targets are refused by the SSRF guard at once, not retried', async () => {
    const srv = await startServer({ superuser: SU });
    const got = [];
    const rx = http.createServer((req, res) => {
      got.push(req.url);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise((r) => rx.listen(0, '::', r)); // dual stack: hears 127.0.0.1 and ::ffff:127.0.0.1
    const port = rx.address().port;
    try {
      const su = await admin(srv);
      const settings = await su.settings.getAll();
      assert.equal(settings.webhooks.allowPrivateTargets, false);
      await su.collections.create({ name: 'posts', listRule: '', viewRule: '', createRule: '', fields: [{ name: 'title', type: 'text' }] });
      const targets = ['[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::127.0.0.1]', '[64:ff9b::7f00:1]', '[2002:7f00:1::]', '[64:ff9b::a9fe:a9fe]'];
      const hooks = [];
      for (const host of targets) {
        const r = await send(srv, 'POST', '/api/webhooks', { body: { url: `http://${host}:${port}/hook`, collections: ['posts'] }, token: su.authStore.token });
        assert.equal(r.status, 200, `${host}: ${JSON.stringify(r.body)}`);
        hooks.push({ host, id: r.body.id });
      }
      await new PocketBase(srv.url).collection('posts').create({ title: 'x' });

      const delivery = async (h) => (await send(srv, 'GET', `/api/webhooks/${h.id}/deliveries`, { token: su.authStore.token })).body.items?.[0];
      const problems = [];
      const end = Date.now() + 5000;
      const settled = new Map();
      while (Date.now() < end && settled.size < hooks.length) {
        for (const h of hooks) {
          if (settled.has(h.host)) continue;
          const d = await delivery(h);
          if (d && d.status !== 'pending' && d.attempts >= 1) settled.set(h.host, d);
        }
        await sleep(50);
      }
      for (const h of hooks) {
        const d = settled.get(h.host);
        if (!d) {
          problems.push(`${h.host}: no attempt finished within 5 s (${JSON.stringify(await delivery(h))})`);
          continue;
        }
        if (!/private or loopback/.test(d.error)) problems.push(`${h.host}: error ${JSON.stringify(d.error)}`);
        if (d.status !== 'failed' || d.attempts !== 1) problems.push(`${h.host}: status ${d.status} after ${d.attempts} attempt(s), expected failed after 1`);
      }
      // Not retried later either.
      await sleep(1500);
      for (const h of hooks) {
        const d = await delivery(h);
        if (d && d.attempts > 1) problems.push(`${h.host}: retried (${d.attempts} attempts)`);
      }
      assert.equal(got.length, 0, 'nothing reached the loopback receiver');
      assert.deepEqual(problems, []);
    } finally {
      await new Promise((r) => rx.close(r));
      await srv.stop();
    }
  });
});

// Found while writing docs/security.md: password checks outside sign-in were not throttled, so a
// stolen token could guess the account's password through oldPassword or the TOTP endpoints.
describe('password checks of signed-in records are throttled like sign-ins', () => {
  test('oldPassword on a record update and the password of totp-setup give 429 after the free attempts', async () => {
    const srv = await startServer({ superuser: SU });
    try {
      const user = await signUp(srv, 'owner@example.com');
      const s = await signIn(srv, 'owner@example.com', 'secret-pass-1');
      assert.equal(s.status, 200);
      const token = s.body.token;
      const statuses = [];
      for (let i = 0; i < 8; ++i) {
        const r = await send(srv, 'PATCH', `/api/collections/users/records/${user.id}`, {
          token,
          body: { oldPassword: 'guess-' + i, password: 'new-secret-1', passwordConfirm: 'new-secret-1' },
        });
        statuses.push(r.status);
      }
      assert.deepEqual(statuses.slice(0, 5), [400, 400, 400, 400, 400], 'five free attempts');
      assert.ok(statuses.slice(5).includes(429), `then 429: ${statuses}`);
      const totp = [];
      for (let i = 0; i < 8; ++i) {
        const r = await send(srv, 'POST', '/api/collections/users/totp-setup', { token, body: { password: 'guess-' + i } });
        totp.push(r.status);
      }
      assert.ok(totp.includes(429), `totp-setup is throttled too: ${totp}`);
      // The owner still signs in (another key: the identity's own sign-in throttle is untouched).
      assert.equal((await signIn(srv, 'owner@example.com', 'secret-pass-1')).status, 200);
    } finally {
      await srv.stop();
    }
  });
});

// Found by walking PocketBase's dashboard: settings it saves must be stored, and superuserIPs enforced.
describe('settings PocketBase stores', () => {
  test('meta.accentColor and rateLimits.excludedIPs round-trip; superuserIPs restricts superusers', async () => {
    const srv = await startServer({ superuser: SU });
    try {
      const su = await admin(srv);
      const s = await su.settings.update({ meta: { accentColor: '#aa3300' }, rateLimits: { excludedIPs: ['10.1.2.3'] } });
      assert.equal(s.meta.accentColor, '#aa3300');
      assert.deepEqual(s.rateLimits.excludedIPs, ['10.1.2.3']);
      const bad = await send(srv, 'PATCH', '/api/settings', { token: su.authStore.token, body: { superuserIPs: ['not an ip'] } });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.data.superuserIPs['0'].code, 'validation_invalid_value');
      // Listed: loopback may go on.
      await su.settings.update({ superuserIPs: ['127.0.0.0/8'] });
      assert.equal((await send(srv, 'GET', '/api/settings', { token: su.authStore.token })).status, 200);
      // Not listed: every superuser request is refused, guests are not affected.
      await su.settings.update({ superuserIPs: ['10.9.9.9'] });
      const refused = await send(srv, 'GET', '/api/collections', { token: su.authStore.token });
      assert.equal(refused.status, 403);
      assert.equal((await send(srv, 'GET', '/api/health')).status, 200);
    } finally {
      await srv.stop();
    }
  });
});
