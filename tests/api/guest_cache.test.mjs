// The guest response cache: guests' record lists and views answered from memory while no write has
// committed since, and never a stale answer after a write is acknowledged — whether the write
// changed the record, a rule, or a record another collection's rule joins. Answers that depend on
// who asks, the clock or randomness are never kept. The hit counter (GET /api/metrics) shows what
// the cache served.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

async function metric(srv, su, name) {
  const text = await (await fetch(srv.url + '/api/metrics', { headers: { Authorization: su.authStore.token } })).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : null;
}

describe('guest response cache', () => {
  let srv;
  let su;
  const guest = () => new PocketBase(srv.url);
  const get = async (path, headers = {}) => {
    const res = await fetch(srv.url + path, { headers });
    return { status: res.status, body: await res.json() };
  };
  const hits = () => metric(srv, su, 'basalt_guest_cache_hits_total');

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({
      name: 'posts',
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
      deleteRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'views', type: 'number' },
        { name: 'created', type: 'autodate', onCreate: true },
      ],
    });
  });
  after(async () => srv && (await srv.stop()));

  test('a repeated guest list or view is a hit', async () => {
    const rec = await guest().collection('posts').create({ title: 'a', views: 1 });
    const h0 = await hits();
    for (let i = 0; i < 5; i++) {
      assert.equal((await get('/api/collections/posts/records?sort=-created')).status, 200);
      assert.equal((await get(`/api/collections/posts/records/${rec.id}`)).body.title, 'a');
    }
    assert.equal((await hits()) - h0, 8, 'the first list and view miss, the next four of each hit');
  });

  test('every write is seen by the next read after its acknowledgement', async () => {
    const pb = guest();
    const path = '/api/collections/posts/records?perPage=500&sort=-created';
    for (let i = 0; i < 40; i++) {
      const before = (await get(path)).body.totalItems;
      await get(path); // a hit, from the answer just kept
      const rec = await pb.collection('posts').create({ title: 't' + i, views: i });
      const after = await get(path);
      assert.equal(after.body.totalItems, before + 1, `create ${i}`);
      assert.ok(after.body.items.some((x) => x.id === rec.id), 'the new record is listed');
      await get(`/api/collections/posts/records/${rec.id}`);
      await pb.collection('posts').update(rec.id, { views: 1000 + i });
      assert.equal((await get(`/api/collections/posts/records/${rec.id}`)).body.views, 1000 + i, `update ${i}`);
      if (i % 2 === 0) {
        await pb.collection('posts').delete(rec.id);
        assert.equal((await get(`/api/collections/posts/records/${rec.id}`)).status, 404, `delete ${i}`);
      }
    }
  });

  test('a rule change applies at once: a cached page is not served after the rule closes it', async () => {
    await su.collections.create({ name: 'open', listRule: '', viewRule: '', fields: [{ name: 't', type: 'text' }] });
    await su.collection('open').create({ t: 'x' });
    assert.equal((await get('/api/collections/open/records')).status, 200);
    assert.equal((await get('/api/collections/open/records')).status, 200);
    await su.collections.update('open', { listRule: null });
    assert.equal((await get('/api/collections/open/records')).status, 403);
  });

  test('a write to another collection that a rule joins is seen at once', async () => {
    await su.collections.create({ name: 'flags', listRule: '', viewRule: '', fields: [{ name: 'on', type: 'bool' }] });
    const flag = await su.collection('flags').create({ on: false });
    await su.collections.create({
      name: 'gated',
      listRule: '@collection.flags.on ?= true',
      viewRule: '',
      fields: [{ name: 't', type: 'text' }],
    });
    await su.collection('gated').create({ t: 'y' });
    assert.equal((await get('/api/collections/gated/records')).body.totalItems, 0);
    assert.equal((await get('/api/collections/gated/records')).body.totalItems, 0);
    await su.collection('flags').update(flag.id, { on: true });
    assert.equal((await get('/api/collections/gated/records')).body.totalItems, 1);
  });

  test('signed-in requests, clock and random reads are never served from the cache', async () => {
    await guest().collection('posts').create({ title: 'b' });
    const users = new PocketBase(srv.url);
    await users.collection('users').create({ email: 'u@example.com', password: 'user-pass-123', passwordConfirm: 'user-pass-123' });
    await users.collection('users').authWithPassword('u@example.com', 'user-pass-123');
    const h0 = await hits();
    for (let i = 0; i < 3; i++) {
      assert.equal((await get('/api/collections/posts/records', { Authorization: users.authStore.token })).status, 200);
      assert.equal((await get('/api/collections/posts/records?sort=@random')).status, 200);
      assert.equal((await get(`/api/collections/posts/records?filter=${encodeURIComponent('created <= @now')}`)).status, 200);
    }
    assert.equal((await hits()) - h0, 0);

    // A rule that reads the clock turns the cache off for every guest read of the schema.
    await su.collections.create({
      name: 'timed',
      listRule: 'created <= @now',
      viewRule: '',
      fields: [{ name: 't', type: 'text' }, { name: 'created', type: 'autodate', onCreate: true }],
    });
    const h1 = await hits();
    for (let i = 0; i < 3; i++) await get('/api/collections/posts/records?perPage=3');
    assert.equal((await hits()) - h1, 0);
    await su.collections.delete('timed');
    await get('/api/collections/posts/records?perPage=3');
    await get('/api/collections/posts/records?perPage=3');
    assert.equal((await hits()) - h1, 1, 'on again once no rule reads the clock');
  });
});

describe('guest response cache off', () => {
  test('--guest-cache-mb 0 keeps nothing', async () => {
    const srv = await startServer({ superuser: SU, args: ['--guest-cache-mb', '0'] });
    try {
      const su = new PocketBase(srv.url);
      await su.collection('_superusers').authWithPassword(SU.email, SU.password);
      await su.collections.create({ name: 'posts', listRule: '', fields: [{ name: 'title', type: 'text' }] });
      for (let i = 0; i < 3; i++) assert.equal((await fetch(srv.url + '/api/collections/posts/records')).status, 200);
      assert.equal(await metric(srv, su, 'basalt_guest_cache_hits_total'), null, 'no cache, no cache series');
    } finally {
      await srv.stop();
    }
  });
});
