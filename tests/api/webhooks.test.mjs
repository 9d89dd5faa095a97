// Webhooks, the durable job queue and the scheduler over HTTP: signed deliveries to a local receiver,
// retries and the delivery log, the SSRF guard, jobs API (dead letters, retry, discard, idempotency),
// crons as PocketBase, split api/worker processes, and a kill -9 during a write storm.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import PocketBase from 'pocketbase';
import { cli, getJson, sleep, startServer, tempDir } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

/** A webhook receiver on a free loopback port: verifies nothing, records everything. */
async function receiver({ failFirst = 0 } = {}) {
  const got = [];
  let failures = failFirst;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      if (failures > 0) {
        failures--;
        res.writeHead(500).end('not now');
      } else {
        res.writeHead(204).end();
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, got, close: () => new Promise((r) => server.close(r)) };
}

/** How a receiver checks a delivery: HMAC-SHA256 over "<timestamp>.<raw body>", compared in constant time. */
function verify(secret, headers, body) {
  const expected = 'v1=' + crypto.createHmac('sha256', secret).update(`${headers['x-basalt-timestamp']}.${body}`).digest('hex');
  const given = Buffer.from(headers['x-basalt-signature'] || '');
  return given.length === expected.length && crypto.timingSafeEqual(given, Buffer.from(expected));
}

async function waitFor(pred, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function admin(srv) {
  const su = new PocketBase(srv.url);
  await su.collection('_superusers').authWithPassword(SU.email, SU.password);
  return su;
}

const api = (srv, su, method, path, body) =>
  getJson(`${srv.url}${path}`, { method, headers: { Authorization: su.authStore.token, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });

describe('webhooks', () => {
  test('signed deliveries of the chosen collections and actions, retried until accepted, logged', async () => {
    const srv = await startServer({ superuser: SU });
    const rx = await receiver({ failFirst: 1 });
    try {
      const su = await admin(srv);
      await su.collections.create({ name: 'posts', listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '', fields: [{ name: 'title', type: 'text' }, { name: 'secret', type: 'text', hidden: true }] });
      await su.collections.create({ name: 'other', createRule: '', fields: [{ name: 'v', type: 'text' }] });

      // Validation, and superusers only.
      assert.equal((await getJson(`${srv.url}/api/webhooks`)).status, 401);
      const bad = await api(srv, su, 'POST', '/api/webhooks', { url: 'ftp://x', actions: ['explode'] });
      assert.equal(bad.status, 400);
      assert.ok(bad.body.data.url && bad.body.data.actions);
      for (const [body, field] of [
        [{ url: rx.url, secret: 'too-short' }, 'secret'],
        [{ url: rx.url, collections: 'posts' }, 'collections'],
        [{ url: rx.url, collections: [''] }, 'collections'],
        [{ url: 'http://x/a b' }, 'url'],
        [{ url: 'http://x/' + 'a'.repeat(2048) }, 'url'],
        [{ url: rx.url, enabled: 'yes' }, 'enabled'],
        [{}, 'url'],
      ]) {
        const r = await api(srv, su, 'POST', '/api/webhooks', body);
        assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
        assert.ok(r.body.data[field], `${field}: ${JSON.stringify(r.body.data)}`);
      }

      const created = await api(srv, su, 'POST', '/api/webhooks', { name: 'posts feed', url: rx.url, collections: ['posts'], actions: ['create', 'delete'] });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const hook = created.body;
      assert.match(hook.secret, /^whsec_[A-Za-z0-9]{32}$/, 'the secret is shown once, on creation');
      const listed = await api(srv, su, 'GET', '/api/webhooks');
      assert.equal(listed.body.items.length, 1);
      assert.equal(listed.body.items[0].secret, undefined, 'and never again');
      assert.equal(JSON.stringify(listed.body).includes(hook.secret), false);

      // Loopback targets are refused until the settings allow them: the delivery fails at once (a
      // refusal would be refused again), with the reason in its log, and is not retried.
      const pb = new PocketBase(srv.url);
      const blocked = await pb.collection('posts').create({ title: 'early' });
      await waitFor(async () => (await api(srv, su, 'GET', `/api/webhooks/${hook.id}/deliveries`)).body.items.some((d) => d.status === 'failed'), 5000, 'a refused attempt');
      const refused = (await api(srv, su, 'GET', `/api/webhooks/${hook.id}/deliveries`)).body.items[0];
      assert.match(refused.error, /private or loopback/);
      assert.equal(refused.attempts, 1, 'a refusal is final');
      assert.equal(rx.got.length, 0, 'nothing reached the loopback receiver');
      await su.settings.update({ webhooks: { allowPrivateTargets: true } });
      // Once allowed, the superuser sends it again.
      const resent = await api(srv, su, 'POST', `/api/webhooks/deliveries/${refused.id}/redeliver`);
      assert.ok(resent.status < 300, JSON.stringify(resent.body));

      const post = await su.collection('posts').create({ title: 'hello', secret: 's' });
      await pb.collection('posts').update(post.id, { title: 'not sent: update is not chosen' });
      await pb.collection('other').create({ v: 'not sent: another collection' });
      await pb.collection('posts').delete(post.id);
      // The redelivered one arrives too; the receiver fails the first request once.
      await waitFor(() => new Set(rx.got.map((g) => JSON.parse(g.body).id)).size === 3, 15000, 'three distinct deliveries');
      const bodies = rx.got.map((g) => ({ ...g, json: JSON.parse(g.body) }));
      for (const b of bodies) {
        assert.ok(verify(hook.secret, b.headers, b.body), 'a valid signature');
        assert.ok(!verify('whsec_wrong', b.headers, b.body));
        assert.equal(b.headers['content-type'], 'application/json');
        assert.equal(b.headers['x-basalt-delivery'], b.json.id);
        assert.ok(Math.abs(Number(b.headers['x-basalt-timestamp']) - Date.now() / 1000) < 60);
      }
      const kinds = new Set(bodies.map((b) => `${b.json.type}:${b.json.record.id}`));
      assert.deepEqual([...kinds].sort(), [`record.create:${blocked.id}`, `record.create:${post.id}`, `record.delete:${post.id}`].sort());
      const createBody = bodies.find((b) => b.json.type === 'record.create' && b.json.record.id === post.id).json;
      assert.equal(createBody.collection.name, 'posts');
      assert.equal(createBody.record.title, 'hello');
      assert.equal(createBody.record.secret, 's', 'webhooks are configured by superusers: every field');

      // The log is written after each answer: wait for the last one.
      await waitFor(async () => (await api(srv, su, 'GET', `/api/webhooks/${hook.id}/deliveries`)).body.items.every((d) => d.status === 'delivered'), 5000, 'the delivery log');
      const log = (await api(srv, su, 'GET', `/api/webhooks/${hook.id}/deliveries`)).body;
      assert.equal(log.totalItems, 3);
      assert.ok(log.items.every((d) => d.status === 'delivered' && d.responseStatus === 204));
      assert.ok(log.items.some((d) => d.attempts >= 2), 'a failed attempt was retried');

      // Redeliver sends the same delivery again.
      const before = rx.got.length;
      const again = await api(srv, su, 'POST', `/api/webhooks/deliveries/${log.items[0].id}/redeliver`);
      assert.equal(again.status, 204);
      await waitFor(() => rx.got.length === before + 1, 5000, 'the redelivery');
      assert.equal(JSON.parse(rx.got.at(-1).body).id, log.items[0].id);
      assert.equal((await api(srv, su, 'POST', '/api/webhooks/deliveries/nope/redeliver')).status, 404);

      // Disabled webhooks and deleted webhooks deliver nothing more.
      const patched = await api(srv, su, 'PATCH', `/api/webhooks/${hook.id}`, { enabled: false });
      assert.equal(patched.body.enabled, false);
      await pb.collection('posts').create({ title: 'quiet' });
      await sleep(600);
      assert.equal(rx.got.length, before + 1);
      assert.equal((await api(srv, su, 'DELETE', `/api/webhooks/${hook.id}`)).status, 204);
      assert.equal((await api(srv, su, 'GET', `/api/webhooks/${hook.id}`)).status, 404);
    } finally {
      await rx.close();
      await srv.stop();
    }
  });

  test('kill -9 during a write storm: every committed change is delivered at least once after restart', async () => {
    const dir = tempDir();
    const rx = await receiver();
    const args = ['--job-lease-ms', '1500'];
    let srv = await startServer({ superuser: SU, dir, args });
    try {
      const su = await admin(srv);
      await su.collections.create({ name: 'storm', createRule: '', listRule: '', fields: [{ name: 'n', type: 'number' }] });
      await su.settings.update({ webhooks: { allowPrivateTargets: true } });
      assert.equal((await api(srv, su, 'POST', '/api/webhooks', { url: rx.url, collections: ['storm'] })).status, 200);

      // 16 writers until the kill; whatever was acknowledged is committed.
      const acked = new Set();
      let stop = false;
      const writer = async () => {
        while (!stop) {
          try {
            const r = await fetch(`${srv.url}/api/collections/storm/records`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"n":1}' });
            if (r.status === 200) acked.add((await r.json()).id);
          } catch {
            return;
          }
        }
      };
      const writers = Array.from({ length: 16 }, writer);
      await sleep(1200);
      srv.proc.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await srv.exited;

      srv = await startServer({ dir, args });
      const su2 = await admin(srv);
      const stored = await su2.collection('storm').getFullList({ fields: 'id', batch: 1000 });
      const ids = new Set(stored.map((r) => r.id));
      for (const id of acked) assert.ok(ids.has(id), 'an acknowledged write survived');
      await waitFor(() => {
        const seen = new Set(rx.got.map((g) => JSON.parse(g.body).record.id));
        return [...ids].every((id) => seen.has(id));
      }, 30000, `deliveries for all ${ids.size} stored records`);
      const seen = new Set(rx.got.map((g) => JSON.parse(g.body).record.id));
      for (const id of seen) assert.ok(ids.has(id), 'no delivery for a write that was not committed');
      assert.ok(ids.size > 50, `a real storm (${ids.size} records)`);
    } finally {
      await rx.close();
      await srv.stop();
    }
  });
});

describe('jobs and crons', () => {
  test('jobs API: dead letters, retry, discard, idempotency; crons as PocketBase', async () => {
    const srv = await startServer({ superuser: SU });
    try {
      const su = await admin(srv);
      assert.equal((await getJson(`${srv.url}/api/jobs`)).status, 401);
      const unknown = await api(srv, su, 'POST', '/api/jobs', { kind: 'rm -rf' });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.data.kind.code, 'validation_invalid_value');
      // Every client-set limit: attempts, delay, key length, payload size.
      for (const bad of [{ maxAttempts: 0 }, { maxAttempts: 101 }, { maxAttempts: 'x' }, { delay: -1 }, { delay: 366 * 86400 }, { idempotencyKey: 'k'.repeat(256) }]) {
        const r = await api(srv, su, 'POST', '/api/jobs', { kind: 'cron.run', ...bad });
        assert.equal(r.status, 400, JSON.stringify(bad));
        assert.ok(Object.keys(r.body.data).length === 1, JSON.stringify(r.body));
      }
      assert.equal((await api(srv, su, 'POST', '/api/jobs', { kind: 'cron.run', payload: { blob: 'x'.repeat(300 * 1024) } })).status, 413);

      // A job that cannot succeed (no such cron): one attempt, then the dead letter keeps its error.
      const job = await api(srv, su, 'POST', '/api/jobs', { kind: 'cron.run', payload: { id: 'nope' }, maxAttempts: 1, idempotencyKey: 'once' });
      assert.equal(job.status, 200, JSON.stringify(job.body));
      const same = await api(srv, su, 'POST', '/api/jobs', { kind: 'cron.run', payload: { id: 'nope' }, idempotencyKey: 'once' });
      assert.equal(same.body.id, job.body.id, 'an idempotency key enqueues once');
      await waitFor(async () => (await api(srv, su, 'GET', `/api/jobs/${job.body.id}`)).body.status === 'failed', 5000, 'the dead letter');
      const dead = (await api(srv, su, 'GET', `/api/jobs/${job.body.id}`)).body;
      assert.equal(dead.attempts, 1);
      assert.match(dead.lastError, /unknown cron/);
      const failed = await api(srv, su, 'GET', '/api/jobs?status=failed');
      assert.ok(failed.body.items.some((j) => j.id === job.body.id));

      assert.equal((await api(srv, su, 'POST', `/api/jobs/${job.body.id}/retry`)).status, 204);
      await waitFor(async () => {
        const j = (await api(srv, su, 'GET', `/api/jobs/${job.body.id}`)).body;
        return j.status === 'failed' && j.attempts === 1 && j.updated !== dead.updated;
      }, 5000, 'the retried job to fail again');
      assert.equal((await api(srv, su, 'DELETE', `/api/jobs/${job.body.id}`)).status, 204);
      assert.equal((await api(srv, su, 'GET', `/api/jobs/${job.body.id}`)).status, 404);
      assert.equal((await api(srv, su, 'POST', '/api/jobs/nope/retry')).status, 404);

      // Crons: the built-ins listed as PocketBase lists them; running one enqueues it now.
      const crons = await su.crons.getFullList();
      assert.deepEqual(crons.map((c) => c.id).sort(), ['__basaltEventsCleanup__', '__basaltJobsCleanup__', '__basaltWebhookDeliveriesCleanup__', '__pbLogsCleanup__']);
      assert.ok(crons.every((c) => typeof c.expression === 'string' && c.expression.split(' ').length === 5));
      await su.crons.run('__basaltJobsCleanup__');
      await su.crons.run('__pbLogsCleanup__');
      await waitFor(async () => (await api(srv, su, 'GET', '/api/jobs?kind=cron.run&status=done')).body.totalItems >= 1, 5000, 'the cron job');
      await assert.rejects(su.crons.run('nope'), (e) => e.status === 404);
    } finally {
      await srv.stop();
    }
  });

  test('at most 100 webhooks', async () => {
    const srv = await startServer({ superuser: SU });
    try {
      const su = await admin(srv);
      for (let i = 0; i < 100; i++) {
        assert.equal((await api(srv, su, 'POST', '/api/webhooks', { url: `https://hooks.example.com/${i}`, enabled: false })).status, 200);
      }
      const over = await api(srv, su, 'POST', '/api/webhooks', { url: 'https://hooks.example.com/101' });
      assert.equal(over.status, 400);
      assert.equal(over.body.data.url.code, 'validation_too_many');
      assert.equal((await api(srv, su, 'GET', '/api/webhooks')).body.totalItems, 100);
    } finally {
      await srv.stop();
    }
  });

  test('--role api and --role worker share a data directory: the worker delivers, the api serves', async () => {
    const dir = tempDir();
    cli(['superuser', 'upsert', SU.email, SU.password, '--dir', dir]);
    const rx = await receiver();
    const apiSrv = await startServer({ dir, args: ['--role', 'api'] });
    let worker;
    try {
      const su = await admin(apiSrv);
      await su.collections.create({ name: 'split', createRule: '', fields: [{ name: 'v', type: 'text' }] });
      await su.settings.update({ webhooks: { allowPrivateTargets: true } });
      await api(apiSrv, su, 'POST', '/api/webhooks', { url: rx.url });
      const pb = new PocketBase(apiSrv.url);
      const rec = await pb.collection('split').create({ v: 'x' });
      await sleep(700);
      assert.equal(rx.got.length, 0, 'an api-only process runs no jobs');
      const second = await startServer({ dir, args: ['--role', 'api'] }).catch((e) => e);
      assert.match(String(second.message), /another basalt api process/);

      const { spawn } = await import('node:child_process');
      const { BIN } = await import('./helpers.mjs');
      worker = spawn(BIN, ['serve', '--role', 'worker', '--dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      await waitFor(() => rx.got.length >= 1, 10000, 'the worker to deliver');
      assert.equal(JSON.parse(rx.got[0].body).record.id, rec.id);
    } finally {
      if (worker) {
        worker.kill('SIGTERM');
        await new Promise((r) => worker.on('exit', r));
      }
      await rx.close();
      await apiSrv.stop();
    }
  });
});
