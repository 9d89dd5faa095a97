// W3C Trace Context through basalt: a traceparent accepted on a request, the request's span in its
// log entry, the same trace id on the webhook delivery its change causes; no traceparent or a
// malformed one starts a new trace.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import PocketBase from 'pocketbase';
import { getJson, sleep, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A webhook receiver on a free loopback port: records every request. */
async function receiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, got, close: () => new Promise((r) => server.close(r)) };
}

async function waitFor(pred, ms = 10000, what = 'condition') {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await pred();
    if (v) return v;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('tracing', () => {
  test('a traceparent follows a change from the request to its webhook and the logs', async () => {
    const srv = await startServer({ superuser: SU });
    const rx = await receiver();
    try {
      const su = new PocketBase(srv.url);
      await su.collection('_superusers').authWithPassword(SU.email, SU.password);
      const auth = { Authorization: su.authStore.token, 'Content-Type': 'application/json' };
      await su.collections.create({ name: 'posts', createRule: '', fields: [{ name: 'title', type: 'text' }] });
      await su.settings.update({ webhooks: { allowPrivateTargets: true } });
      const hook = await getJson(`${srv.url}/api/webhooks`, { method: 'POST', headers: auth, body: JSON.stringify({ url: rx.url, collections: ['posts'], actions: ['create'] }) });
      assert.equal(hook.status, 200, JSON.stringify(hook.body));

      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const callerSpan = '00f067aa0ba902b7';
      const created = await getJson(`${srv.url}/api/collections/posts/records?marker=traced`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01`, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' },
        body: JSON.stringify({ title: 'traced' }),
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal(created.headers.get('traceparent'), null, 'no traceparent on responses (not standard)');

      // The delivery carries the same trace, as a span of its own.
      await waitFor(() => rx.got.length > 0, 10000, 'the delivery');
      const delivery = rx.got[0];
      assert.equal(delivery.body.record.id, created.body.id);
      const m = TRACEPARENT.exec(delivery.headers.traceparent || '');
      assert.ok(m, `a version 00 traceparent: ${delivery.headers.traceparent}`);
      assert.equal(m[1], traceId, 'the request\'s trace id');
      assert.notEqual(m[2], callerSpan, 'a span id of its own');
      assert.equal(m[3], '01', 'the caller\'s flags');
      assert.equal(delivery.headers.tracestate, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');

      // The request's log entry has the trace id and its own span, a child of the caller's.
      const logOf = async (marker) => {
        const r = await getJson(`${srv.url}/api/logs?filter=${encodeURIComponent(`data.url ~ "marker=${marker}"`)}`, { headers: auth });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.items[0];
      };
      const entry = await waitFor(() => logOf('traced'), 10000, 'the request log entry');
      assert.equal(entry.data.traceId, traceId);
      assert.match(entry.data.spanId, /^[0-9a-f]{16}$/);
      assert.notEqual(entry.data.spanId, callerSpan);
      assert.equal(entry.data.parentId, callerSpan);
      assert.notEqual(entry.data.spanId, m[2], 'the delivery is a span of its own');

      // The delivery log keeps the traceparent of the change that caused it.
      const deliveries = await getJson(`${srv.url}/api/webhooks/${hook.body.id}/deliveries`, { headers: auth });
      assert.equal(deliveries.body.items[0].traceparent, `00-${traceId}-${entry.data.spanId}-01`);

      // Without a traceparent: a fresh trace per request.
      const plain = await getJson(`${srv.url}/api/collections/posts/records?marker=plain`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'plain' }) });
      assert.equal(plain.status, 200);
      const plainEntry = await waitFor(() => logOf('plain'), 10000, 'the untraced request log entry');
      assert.match(plainEntry.data.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(plainEntry.data.traceId, traceId);
      assert.notEqual(plainEntry.data.traceId, '0'.repeat(32));
      assert.match(plainEntry.data.spanId, /^[0-9a-f]{16}$/);
      assert.equal(plainEntry.data.parentId, undefined);
      await waitFor(() => rx.got.length > 1, 10000, 'the second delivery');
      assert.equal(TRACEPARENT.exec(rx.got[1].headers.traceparent)[1], plainEntry.data.traceId, 'its delivery follows the new trace');
      assert.equal(rx.got[1].headers.tracestate, undefined);

      // A malformed traceparent is ignored: a new trace, and the request still succeeds.
      for (const [i, bad] of [
        '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
        '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
        'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        'garbage',
      ].entries()) {
        const r = await getJson(`${srv.url}/api/collections/posts/records?marker=bad${i}`, { method: 'POST', headers: { 'Content-Type': 'application/json', traceparent: bad, tracestate: 'rojo=1' }, body: JSON.stringify({ title: 'bad' }) });
        assert.equal(r.status, 200, bad);
        const e = await waitFor(() => logOf(`bad${i}`), 10000, `the log entry of ${bad}`);
        assert.match(e.data.traceId, /^[0-9a-f]{32}$/);
        assert.notEqual(e.data.traceId, traceId);
        assert.notEqual(e.data.traceId, '0'.repeat(32));
        assert.equal(e.data.parentId, undefined);
      }
    } finally {
      await rx.close();
      await srv.stop();
    }
  });
});
