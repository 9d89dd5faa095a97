// HTTP revalidation of JSON answers: ETag on record views and lists, collections and settings,
// If-None-Match -> 304 without a body, a new ETag after a write, Cache-Control/Vary that keep
// authenticated answers out of shared caches.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

describe('HTTP caching', () => {
  let srv;
  let su;
  let id;
  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({ name: 'notes', listRule: '', viewRule: '', updateRule: '', fields: [{ name: 'title', type: 'text' }] });
    id = (await su.collection('notes').create({ title: 'first' })).id;
  });
  after(async () => srv && (await srv.stop()));

  const get = (path, headers = {}) => fetch(srv.url + path, { headers });

  test('a record view: ETag, 304 on a match (no body), a new ETag after the record changes', async () => {
    const first = await get(`/api/collections/notes/records/${id}`);
    assert.equal(first.status, 200);
    const etag = first.headers.get('etag');
    assert.match(etag, /^W\/"[0-9a-f]{16}"$/);
    assert.equal(first.headers.get('cache-control'), 'no-cache');
    assert.match(first.headers.get('vary'), /Authorization/);
    await first.text();

    const again = await get(`/api/collections/notes/records/${id}`, { 'If-None-Match': etag });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    assert.equal(again.headers.get('etag'), etag);
    for (const list of [`"other", ${etag}`, '*', etag.slice(2)]) {
      assert.equal((await get(`/api/collections/notes/records/${id}`, { 'If-None-Match': list })).status, 304, list);
    }
    const other = await get(`/api/collections/notes/records/${id}`, { 'If-None-Match': 'W/"0000000000000000"' });
    assert.equal(other.status, 200);
    await other.text();

    await su.collection('notes').update(id, { title: 'changed' });
    const changed = await get(`/api/collections/notes/records/${id}`, { 'If-None-Match': etag });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get('etag'), etag);
    assert.equal((await changed.json()).title, 'changed');
  });

  test('lists, collections and settings; authenticated answers are private', async () => {
    const list = await get('/api/collections/notes/records');
    const tag = list.headers.get('etag');
    assert.ok(tag);
    await list.text();
    assert.equal((await get('/api/collections/notes/records', { 'If-None-Match': tag })).status, 304);
    // ?fields= changes the body, so the ETag too.
    const picked = await get('/api/collections/notes/records?fields=id');
    assert.notEqual(picked.headers.get('etag'), tag);
    await picked.text();

    for (const path of ['/api/collections', '/api/collections/notes', '/api/settings']) {
      const r = await get(path, { Authorization: su.authStore.token });
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('cache-control'), 'private, no-cache', path);
      const etag = r.headers.get('etag');
      assert.ok(etag, path);
      await r.text();
      const again = await get(path, { Authorization: su.authStore.token, 'If-None-Match': etag });
      assert.equal(again.status, 304, path);
    }
  });

  test('writes and errors get no ETag; HEAD has one', async () => {
    const created = await getJson(`${srv.url}/api/collections/notes/records`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(created.headers.get('etag'), null);
    const missing = await get('/api/collections/notes/records/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('etag'), null);
    await missing.text();
    const head = await fetch(`${srv.url}/api/collections/notes/records/${id}`, { method: 'HEAD' });
    assert.ok(head.headers.get('etag'));
  });
});
