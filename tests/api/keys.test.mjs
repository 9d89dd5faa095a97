// API keys (basalt): superusers create long-lived keys bound to an auth record, with scopes that
// narrow what the record's rules allow; stored hashed, shown once, revocable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const PASS = 'secret-pass-1';

describe('API keys', () => {
  let srv;
  let su;
  let userId;
  let otherId;
  const call = (method, path, key, body) =>
    getJson(srv.url + path, {
      method,
      headers: { ...(key ? { Authorization: key } : {}), 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const create = (body) => call('POST', '/api/keys', su.authStore.token, body);

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    userId = (await su.collection('users').create({ email: 'k@example.com', password: PASS, passwordConfirm: PASS })).id;
    otherId = (await su.collection('users').create({ email: 'o@example.com', password: PASS, passwordConfirm: PASS })).id;
    await su.collections.create({
      name: 'notes',
      listRule: 'owner = @request.auth.id',
      viewRule: 'owner = @request.auth.id',
      createRule: 'owner = @request.auth.id',
      fields: [
        { name: 'text', type: 'text' },
        { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      ],
    });
    await su.collection('notes').create({ text: 'mine', owner: userId });
    await su.collection('notes').create({ text: 'theirs', owner: otherId });
  });
  after(async () => srv && (await srv.stop()));

  test('a scoped key reads what its record may read, and nothing beyond its scopes', async () => {
    const made = await create({ name: 'reporting', collection: 'users', recordId: userId, scopes: ['notes:list', 'notes:view'] });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const key = made.body.key;
    assert.match(key, /^bsk_[a-z0-9]{15}_[A-Za-z0-9]{40}$/);
    assert.ok(key.startsWith(made.body.prefix));
    const listed = await call('GET', '/api/keys', su.authStore.token);
    assert.equal(listed.body.items.length, 1);
    assert.equal(listed.body.items[0].key, undefined, 'the key is shown once');
    assert.equal(JSON.stringify(listed.body).includes(key.slice(-40)), false);

    const notes = await call('GET', '/api/collections/notes/records', key);
    assert.equal(notes.status, 200);
    assert.deepEqual(notes.body.items.map((n) => n.text), ['mine'], "the record's rules still apply");
    assert.equal((await call('GET', `/api/collections/notes/records/${notes.body.items[0].id}`, key)).status, 200);
    // Outside the scopes: 403, even where the rules would allow it.
    assert.equal((await call('POST', '/api/collections/notes/records', key, { text: 'new', owner: userId })).status, 403);
    assert.equal((await call('GET', '/api/collections/users/records', key)).status, 403);
    const expanded = await call('GET', '/api/collections/notes/records?expand=owner', key);
    assert.equal(expanded.body.items[0].expand?.owner, undefined, 'expand needs the related view scope too');
    // Keys are not sessions: no session list, no refresh; the SDK header form works too.
    assert.equal((await call('GET', '/api/sessions', key)).status, 403);
    assert.equal((await call('POST', '/api/collections/users/auth-refresh', key, {})).status, 401);
    assert.equal((await call('GET', '/api/collections/notes/records', 'Bearer ' + key)).status, 200);
    // A key with a wrong secret is no key at all.
    const forged = key.slice(0, -4) + 'AAAA';
    assert.deepEqual((await call('GET', '/api/collections/notes/records', forged)).body.items, []);

    // Revoked: refused at once.
    assert.equal((await call('DELETE', `/api/keys/${made.body.id}`, su.authStore.token)).status, 204);
    assert.deepEqual((await call('GET', '/api/collections/notes/records', key)).body.items, []);
    assert.equal((await call('DELETE', `/api/keys/${made.body.id}`, su.authStore.token)).status, 404);
  });

  test('admin keys reach the superuser APIs; others do not', async () => {
    const superuserId = su.authStore.record.id;
    const admin = (await create({ name: 'ci', collection: '_superusers', recordId: superuserId, scopes: ['admin'] })).body.key;
    assert.equal((await call('GET', '/api/collections', admin)).status, 200);
    assert.equal((await call('GET', '/api/collections/notes/records', admin)).body.items.length, 2, 'superusers bypass rules');
    const narrow = (await create({ name: 'etl', collection: '_superusers', recordId: superuserId, scopes: ['notes:*'] })).body.key;
    assert.equal((await call('GET', '/api/collections', narrow)).status, 403);
    assert.equal((await call('GET', '/api/keys', narrow)).status, 403);
    assert.equal((await call('GET', '/api/collections/notes/records', narrow)).body.items.length, 2);
    assert.equal((await call('GET', '/api/collections/users/records', narrow)).status, 403);
    // Only superusers manage keys.
    const user = new PocketBase(srv.url);
    await user.collection('users').authWithPassword('k@example.com', PASS);
    assert.equal((await call('POST', '/api/keys', user.authStore.token, { collection: 'users', recordId: userId, scopes: ['admin'] })).status, 403);
    assert.equal((await call('GET', '/api/keys')).status, 401);
  });

  test('bad key requests are field errors; expired keys stop working', async () => {
    const bad = [
      [{ collection: 'notes', recordId: userId, scopes: ['notes:list'] }, 'collection'],
      [{ collection: 'users', recordId: 'nope', scopes: ['notes:list'] }, 'recordId'],
      [{ collection: 'users', recordId: userId, scopes: [] }, 'scopes'],
      [{ collection: 'users', recordId: userId, scopes: ['notes:read'] }, 'scopes'],
      [{ collection: 'users', recordId: userId, scopes: ['notes;drop:list'] }, 'scopes'],
      [{ collection: 'users', recordId: userId, scopes: Array.from({ length: 101 }, (_, i) => `c${i}:list`) }, 'scopes'],
      [{ collection: 'users', recordId: userId, scopes: ['notes:list'], expires: '2001-01-01 00:00:00.000Z' }, 'expires'],
    ];
    for (const [body, key] of bad) {
      const r = await create(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.ok(r.body.data[key], JSON.stringify(body) + ' -> ' + JSON.stringify(r.body.data));
    }
    const soon = new Date(Date.now() + 1500).toISOString().replace('T', ' ');
    const made = await create({ collection: 'users', recordId: userId, scopes: ['notes:list'], expires: soon });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    assert.equal((await call('GET', '/api/collections/notes/records', made.body.key)).body.items.length, 1);
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual((await call('GET', '/api/collections/notes/records', made.body.key)).body.items, []);
  });
});
