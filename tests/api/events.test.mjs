// The transactional outbox: every committed record change has exactly one event, in commit order,
// even when basalt is killed in the middle of a write storm; failed and rolled-back writes have none.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, startServer, tempDir } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

async function allEvents(srv, token) {
  const out = [];
  let after = 0;
  for (;;) {
    const r = await getJson(`${srv.url}/api/events?after=${after}&limit=1000`, { headers: { Authorization: token } });
    assert.equal(r.status, 200);
    out.push(...r.body.items);
    if (r.body.items.length < 1000) return out;
    after = r.body.items[r.body.items.length - 1].id;
  }
}

describe('events outbox', () => {
  test('create, update, delete and failed writes; batch all-or-nothing', async () => {
    const srv = await startServer({ superuser: SU });
    try {
      const su = new PocketBase(srv.url);
      await su.collection('_superusers').authWithPassword(SU.email, SU.password);
      await su.collections.create({ name: 'items', listRule: '', createRule: '', updateRule: '', deleteRule: '', fields: [{ name: 'n', type: 'number', max: 100 }] });
      await su.settings.update({ batch: { enabled: true } });
      const a = await su.collection('items').create({ n: 1 });
      await su.collection('items').update(a.id, { n: 2 });
      await assert.rejects(su.collection('items').create({ n: 1000 }), (e) => e.status === 400);
      const b = su.createBatch();
      b.collection('items').create({ n: 3 });
      b.collection('items').create({ n: 5000 }); // fails: the whole batch rolls back
      await assert.rejects(b.send(), (e) => e.status === 400);
      await su.collection('items').delete(a.id);
      const all = await allEvents(srv, su.authStore.token);
      const events = all.filter((e) => e.collectionName === 'items');
      assert.deepEqual(events.map((e) => [e.action, e.recordId]), [['create', a.id], ['update', a.id], ['delete', a.id]]);
      // Auth events share the outbox: the superuser's sign-in came first.
      const signin = all.find((e) => e.action === 'auth.signin');
      assert.equal(signin.recordId, su.authStore.record.id);
      assert.equal(signin.record.method, 'password');
      assert.ok(signin.id < events[0].id);
      assert.equal(signin.record.password, undefined);
      assert.equal(events[1].record.n, 2);
      assert.equal(events[2].record.n, 2, 'a delete carries the record as it was');
      assert.ok(events[0].id < events[1].id && events[1].id < events[2].id);
      assert.equal((await getJson(`${srv.url}/api/events`)).status, 401);

      // A user's password change and logout are events too.
      const user = new PocketBase(srv.url);
      await user.collection('users').create({ email: 'e@example.com', password: 'secret-pass-1', passwordConfirm: 'secret-pass-1' });
      await user.collection('users').authWithPassword('e@example.com', 'secret-pass-1');
      const uid = user.authStore.record.id;
      await user.collection('users').update(uid, { password: 'other-pass-12', passwordConfirm: 'other-pass-12', oldPassword: 'secret-pass-1' });
      await user.collection('users').authWithPassword('e@example.com', 'other-pass-12');
      await getJson(`${srv.url}/api/collections/users/auth-logout`, { method: 'POST', headers: { Authorization: user.authStore.token } });
      const mine = (await allEvents(srv, su.authStore.token)).filter((e) => e.recordId === uid).map((e) => e.action);
      assert.deepEqual(mine, ['create', 'auth.signin', 'auth.passwordChange', 'update', 'auth.sessionRevoke', 'auth.signin', 'auth.sessionRevoke']);
    } finally {
      await srv.stop();
    }
  });

  test('a delete reports every record it touches: cascades, cleared relations, nested', async () => {
    const srv = await startServer({ superuser: SU });
    try {
      const su = new PocketBase(srv.url);
      await su.collection('_superusers').authWithPassword(SU.email, SU.password);
      const parents = await su.collections.create({ name: 'parents', fields: [{ name: 'n', type: 'text' }] });
      const kids = await su.collections.create({ name: 'kids', fields: [{ name: 'parent', type: 'relation', collectionId: parents.id, maxSelect: 1, cascadeDelete: true }] });
      await su.collections.create({ name: 'grandkids', fields: [{ name: 'kid', type: 'relation', collectionId: kids.id, maxSelect: 1, cascadeDelete: true }] });
      await su.collections.create({ name: 'groups', fields: [{ name: 'members', type: 'relation', collectionId: parents.id, maxSelect: 5, cascadeDelete: true }] });
      await su.collections.create({ name: 'notes', fields: [{ name: 'about', type: 'relation', collectionId: parents.id, maxSelect: 1 }] });
      await su.collections.create({ name: 'lists', fields: [{ name: 'items', type: 'relation', collectionId: parents.id, maxSelect: 5 }] });
      const p = await su.collection('parents').create({ n: 'p' });
      const other = await su.collection('parents').create({ n: 'other' });
      const kid = await su.collection('kids').create({ parent: p.id });
      const grandkid = await su.collection('grandkids').create({ kid: kid.id });
      const group = await su.collection('groups').create({ members: [p.id, other.id] });
      const note = await su.collection('notes').create({ about: p.id });
      const list = await su.collection('lists').create({ items: [other.id, p.id] });
      const before = (await allEvents(srv, su.authStore.token)).length;

      await su.collection('parents').delete(p.id);
      const events = (await allEvents(srv, su.authStore.token)).slice(before);
      const seen = events.map((e) => `${e.action} ${e.collectionName} ${e.recordId}`).sort();
      assert.deepEqual(seen, [
        `delete grandkids ${grandkid.id}`,
        `delete groups ${group.id}`,
        `delete kids ${kid.id}`,
        `delete parents ${p.id}`,
        `update lists ${list.id}`,
        `update notes ${note.id}`,
      ].sort());
      assert.equal(events.find((e) => e.recordId === note.id).record.about, '', 'the update carries the cleared relation');
      assert.deepEqual(events.find((e) => e.recordId === list.id).record.items, [other.id]);
      // Order: what cascades goes first (deepest first), then the record itself, then the records whose
      // relation was cleared, as they are after the delete.
      const at = (action, id) => events.findIndex((e) => e.action === action && e.recordId === id);
      assert.ok(at('delete', grandkid.id) < at('delete', kid.id));
      assert.ok(at('delete', kid.id) < at('delete', p.id) && at('delete', group.id) < at('delete', p.id));
      assert.ok(at('update', note.id) > at('delete', p.id) && at('update', list.id) > at('delete', p.id));
      // The data agrees with the events.
      await assert.rejects(su.collection('kids').getOne(kid.id), (e) => e.status === 404);
      await assert.rejects(su.collection('grandkids').getOne(grandkid.id), (e) => e.status === 404);
      assert.equal((await su.collection('notes').getOne(note.id)).about, '');
    } finally {
      await srv.stop();
    }
  });

  test('killed during a write storm: exactly one event per committed change after restart', async () => {
    const dir = tempDir();
    let srv = await startServer({ superuser: SU, dir });
    const su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({ name: 'storm', listRule: '', createRule: '', fields: [{ name: 'i', type: 'number' }] });
    let stop = false;
    const writers = Array.from({ length: 32 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        try {
          await fetch(`${srv.url}/api/collections/storm/records`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ i: w * 100000 + i }),
          });
        } catch {
          return; // the server is gone
        }
      }
    });
    await new Promise((r) => setTimeout(r, 400));
    srv.proc.kill('SIGKILL');
    stop = true;
    await srv.exited;
    await Promise.all(writers);
    srv = await startServer({ dir });
    try {
      const again = new PocketBase(srv.url);
      await again.collection('_superusers').authWithPassword(SU.email, SU.password);
      const records = await again.collection('storm').getFullList({ batch: 1000 });
      const events = (await allEvents(srv, again.authStore.token)).filter((e) => e.collectionName === 'storm');
      assert.ok(records.length > 50, `the storm wrote ${records.length} records`);
      assert.equal(events.length, records.length);
      assert.deepEqual(new Set(events.map((e) => e.recordId)), new Set(records.map((r) => r.id)));
      assert.ok(events.every((e) => e.action === 'create'));
    } finally {
      await srv.stop();
    }
  });
});
