// Settings and the batch API through the SDK: batch is off by default, all-or-nothing when on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

describe('settings and batch', () => {
  let srv;
  let pb;
  before(async () => {
    srv = await startServer({ superuser: SU });
    pb = new PocketBase(srv.url);
    await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
    await pb.collections.create({
      name: 'items',
      listRule: '',
      viewRule: '',
      createRule: '',
      fields: [
        { name: 'name', type: 'text', required: true },
        { name: 'qty', type: 'number', min: 0 },
      ],
      indexes: ['CREATE UNIQUE INDEX idx_items_name ON items (name)'],
    });
  });
  after(async () => srv && (await srv.stop()));

  test('settings: superusers only, defaults, validated patches, secrets redacted', async () => {
    const guest = await getJson(srv.url + '/api/settings');
    assert.equal(guest.status, 401);
    const s = await pb.settings.getAll();
    assert.equal(s.batch.enabled, false);
    assert.equal(s.batch.maxRequests, 50);
    assert.equal(s.meta.appName, 'basalt');
    const bad = await getJson(srv.url + '/api/settings', {
      method: 'PATCH',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ batch: { maxRequests: 'lots' } }),
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.data.batch.maxRequests.code, 'validation_invalid_value');
    const upd = await pb.settings.update({ meta: { appName: 'Acme' }, smtp: { password: 's3cret' } });
    assert.equal(upd.meta.appName, 'Acme');
    assert.equal(upd.smtp.password, '', 'secrets are never returned');
    assert.equal((await pb.settings.getAll()).meta.appName, 'Acme');
  });

  test('batch is refused while disabled', async () => {
    const batch = pb.createBatch();
    batch.collection('items').create({ name: 'a' });
    await assert.rejects(batch.send(), (e) => e.status === 403);
  });

  test('batch: creates, upserts, updates and deletes in one transaction', async () => {
    await pb.settings.update({ batch: { enabled: true, maxRequests: 10 } });
    const existing = await pb.collection('items').create({ name: 'existing', qty: 1 });
    const batch = pb.createBatch();
    batch.collection('items').create({ name: 'one', qty: 1 });
    batch.collection('items').create({ name: 'two', qty: 2 });
    batch.collection('items').upsert({ id: existing.id, name: 'existing', qty: 9 });
    batch.collection('items').upsert({ id: 'newupsert000001', name: 'fresh', qty: 3 });
    batch.collection('items').update(existing.id, { 'qty+': 1 });
    const res = await batch.send();
    assert.equal(res.length, 5);
    assert.deepEqual(res.map((r) => r.status), [200, 200, 200, 200, 200]);
    assert.equal(res[0].body.name, 'one');
    assert.equal(res[2].body.qty, 9);
    assert.equal(res[3].body.id, 'newupsert000001');
    assert.equal(res[4].body.qty, 10);

    const del = pb.createBatch();
    del.collection('items').delete(res[0].body.id);
    const d = await del.send();
    assert.equal(d[0].status, 204);
    assert.equal(d[0].body, null);
  });

  test('batch: one failure rolls everything back and says which request failed', async () => {
    const before = (await pb.collection('items').getFullList()).length;
    const batch = pb.createBatch();
    batch.collection('items').create({ name: 'will-vanish' });
    batch.collection('items').create({ name: 'two' }); // unique name taken: fails
    batch.collection('items').create({ name: 'never-reached' });
    await assert.rejects(batch.send(), (e) => {
      assert.equal(e.status, 400);
      assert.equal(e.response.message, 'Batch transaction failed.');
      const failed = e.response.data.requests['1'];
      assert.equal(failed.code, 'batch_request_failed');
      assert.equal(failed.response.status, 400);
      assert.equal(failed.response.data.name.code, 'validation_not_unique');
      return true;
    });
    assert.equal((await pb.collection('items').getFullList()).length, before);
  });

  test('batch: limits and invalid sub-requests', async () => {
    const big = pb.createBatch();
    for (let i = 0; i < 11; i++) big.collection('items').create({ name: `n${i}` });
    await assert.rejects(big.send(), (e) => e.status === 400);
    const r = await getJson(srv.url + '/api/batch', {
      method: 'POST',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ requests: [{ method: 'GET', url: '/api/settings' }] }),
    });
    assert.equal(r.status, 400);
    // PocketBase: an unsupported action fails when it is reached, like any other failed request.
    assert.equal(r.body.data.requests['0'].code, 'batch_request_failed');
    assert.equal(r.body.data.requests['0'].response.status, 400);
  });
});
