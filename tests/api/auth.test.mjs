// Users and authentication through the official SDK: the default `users` auth collection, sign up,
// sign in, refresh, rules with @request.auth, email visibility, password changes, manage access,
// server-side sessions (list, revoke, logout), impersonation, auth methods and the sign-in throttle.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

describe('users, authentication and sessions', () => {
  let srv;
  let su;
  const client = () => new PocketBase(srv.url);
  const send = (method, path, body, token) =>
    getJson(srv.url + path, {
      method,
      headers: { ...(token ? { Authorization: token } : {}), 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const signUp = async (email, extra = {}) => {
    const pb = client();
    await pb.collection('users').create({ email, password: 'secret-pass-1', passwordConfirm: 'secret-pass-1', ...extra });
    await pb.collection('users').authWithPassword(email, 'secret-pass-1');
    return pb;
  };

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = client();
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
  });
  after(async () => srv && (await srv.stop()));

  test('a fresh install has the users auth collection', async () => {
    const users = await su.collections.getOne('users');
    assert.equal(users.id, '_pb_users_auth_');
    assert.equal(users.type, 'auth');
    assert.deepEqual(
      users.fields.map((f) => f.name),
      ['id', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified', 'name', 'avatar', 'created', 'updated'],
    );
    const avatar = users.fields.find((f) => f.name === 'avatar');
    assert.equal(avatar.type, 'file');
    assert.equal(avatar.maxSelect, 1);
    assert.deepEqual(avatar.mimeTypes, ['image/jpeg', 'image/png', 'image/svg+xml', 'image/gif', 'image/webp']);
    assert.equal(users.fields.find((f) => f.name === 'password').hidden, true);
    assert.equal(users.passwordAuth.enabled, true);
    assert.deepEqual(users.passwordAuth.identityFields, ['email']);
    assert.equal(users.authToken.duration, 604800);
    assert.equal(users.authToken.secret, undefined, 'secrets are never returned');
    assert.equal(users.listRule, 'id = @request.auth.id');
    const methods = await client().collection('users').listAuthMethods();
    assert.equal(methods.password.enabled, true);
    assert.deepEqual(methods.password.identityFields, ['email']);
    assert.equal(methods.oauth2.enabled, false);
    assert.equal((await send('GET', '/api/collections/nope/auth-methods')).status, 404);
  });

  test('sign up, sign in, refresh; the record never shows its password or tokenKey', async () => {
    const pb = client();
    const created = await pb.collection('users').create({
      email: 'Ann@Example.com',
      password: 'secret-pass-1',
      passwordConfirm: 'secret-pass-1',
      name: 'Ann',
    });
    assert.equal(created.name, 'Ann');
    assert.equal(created.verified, false);
    assert.equal(created.password, undefined);
    assert.equal(created.tokenKey, undefined);
    assert.equal(created.email, undefined, 'the email is private by default (a guest created it)');
    const auth = await pb.collection('users').authWithPassword('ann@example.com', 'secret-pass-1');
    assert.equal(auth.record.id, created.id);
    assert.equal(auth.record.email, 'Ann@Example.com', 'the signed-in record shows its own email');
    assert.equal(auth.record.password, undefined);
    assert.ok(pb.authStore.isValid);
    assert.equal(pb.authStore.isSuperuser, false);
    const refreshed = await pb.collection('users').authRefresh();
    assert.equal(refreshed.record.id, created.id);
    assert.notEqual(refreshed.token, '');
    // Own record through the rules (id = @request.auth.id).
    const mine = await pb.collection('users').getFullList();
    assert.deepEqual(mine.map((r) => r.id), [created.id]);
    assert.equal(mine[0].email, 'Ann@Example.com');
    // Wrong password, unknown user: the same answer.
    const wrong = await send('POST', '/api/collections/users/auth-with-password', { identity: 'ann@example.com', password: 'nope-nope-1' });
    const unknown = await send('POST', '/api/collections/users/auth-with-password', { identity: 'zed@example.com', password: 'nope-nope-1' });
    assert.equal(wrong.status, 400);
    assert.deepEqual(wrong.body, unknown.body);
    // A users token is not a superuser token, and cannot refresh as another collection.
    assert.equal((await send('GET', '/api/collections', undefined, pb.authStore.token)).status, 403);
    assert.equal((await send('POST', '/api/collections/_superusers/auth-refresh', {}, pb.authStore.token)).status, 403);
  });

  test('a user signs up with an avatar, replaces it, and only images are taken', async () => {
    // A 1x1 PNG.
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
        '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
      'hex',
    );
    const pb = client();
    const created = await pb.collection('users').create({
      email: 'pic@example.com',
      password: 'secret-pass-1',
      passwordConfirm: 'secret-pass-1',
      avatar: new File([png], 'Portrait.png', { type: 'image/png' }),
    });
    assert.match(created.avatar, /^portrait_[a-z0-9]{10}\.png$/);
    await pb.collection('users').authWithPassword('pic@example.com', 'secret-pass-1');
    const res = await fetch(pb.files.getURL(created, created.avatar));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), png);
    const updated = await pb.collection('users').update(created.id, { avatar: new File([png], 'new.png') });
    assert.match(updated.avatar, /^new_[a-z0-9]{10}\.png$/);
    assert.equal((await fetch(pb.files.getURL(created, created.avatar))).status, 404, 'the old avatar is gone');
    const text = await pb
      .collection('users')
      .update(created.id, { avatar: new File(['not an image'], 'x.png') })
      .catch((e) => e);
    assert.equal(text.status, 400);
    assert.equal(text.response.data.avatar.code, 'validation_invalid_mime_type');
  });

  test('sign-up validation: passwords, duplicates, verified', async () => {
    const bad = [
      [{ email: 'b@example.com', password: 'secret-pass-1' }, 'passwordConfirm', 'validation_required'],
      [{ email: 'b@example.com', password: 'secret-pass-1', passwordConfirm: 'other-pass-1' }, 'passwordConfirm', 'validation_values_mismatch'],
      [{ email: 'b@example.com', password: 'short', passwordConfirm: 'short' }, 'password', 'validation_min_text_constraint'],
      [{ email: 'b@example.com' }, 'password', 'validation_required'],
      [{ password: 'secret-pass-1', passwordConfirm: 'secret-pass-1' }, 'email', 'validation_required'],
      [{ email: 'not-an-email', password: 'secret-pass-1', passwordConfirm: 'secret-pass-1' }, 'email', 'validation_is_email'],
      [{ email: 'b@example.com', password: 'secret-pass-1', passwordConfirm: 'secret-pass-1', verified: true }, 'verified', 'validation_values_mismatch'],
      [{ email: 'ANN@example.com', password: 'secret-pass-1', passwordConfirm: 'secret-pass-1' }, 'email', 'validation_not_unique'],
    ];
    for (const [body, key, code] of bad) {
      const r = await send('POST', '/api/collections/users/records', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.data[key]?.code, code, JSON.stringify(body) + ' -> ' + JSON.stringify(r.body.data));
    }
    // A superuser may create verified users directly.
    const v = await su.collection('users').create({ email: 'v@example.com', password: 'secret-pass-1', passwordConfirm: 'secret-pass-1', verified: true });
    assert.equal(v.verified, true);
    assert.equal(v.email, 'v@example.com', 'superusers see every email');
  });

  test('rules see @request.auth; email visibility is per record', async () => {
    const ann = await signUp('owner1@example.com', { name: 'Owner One' });
    const bob = await signUp('owner2@example.com', { emailVisibility: true });
    await su.collections.create({
      name: 'notes',
      listRule: 'owner = @request.auth.id',
      viewRule: 'owner = @request.auth.id',
      createRule: '@request.auth.id != "" && owner = @request.auth.id',
      updateRule: 'owner = @request.auth.id',
      deleteRule: 'owner = @request.auth.id && @request.auth.verified = true',
      fields: [
        { name: 'text', type: 'text' },
        { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      ],
    });
    const annId = ann.authStore.record.id;
    const bobId = bob.authStore.record.id;
    const n1 = await ann.collection('notes').create({ text: 'ann note', owner: annId });
    await assert.rejects(ann.collection('notes').create({ text: 'forged', owner: bobId }), (e) => e.status === 400);
    await assert.rejects(client().collection('notes').create({ text: 'guest', owner: annId }), (e) => e.status === 400);
    await bob.collection('notes').create({ text: 'bob note', owner: bobId });
    assert.deepEqual((await ann.collection('notes').getFullList()).map((r) => r.text), ['ann note']);
    assert.deepEqual((await bob.collection('notes').getFullList()).map((r) => r.text), ['bob note']);
    await assert.rejects(bob.collection('notes').getOne(n1.id), (e) => e.status === 404);
    await assert.rejects(bob.collection('notes').update(n1.id, { text: 'x' }), (e) => e.status === 404);
    // @request.auth.verified: Ann is not verified, so she cannot delete.
    await assert.rejects(ann.collection('notes').delete(n1.id), (e) => e.status === 404);
    // Expand the owner: Bob's email is public, Ann's is not (seen by Bob via a relation).
    await su.collections.update('users', { viewRule: '@request.auth.id != ""', listRule: '@request.auth.id != ""' });
    const everyone = await bob.collection('users').getFullList({ filter: `id = "${annId}" || id = "${bobId}"` });
    const byId = Object.fromEntries(everyone.map((r) => [r.id, r]));
    assert.equal(byId[annId].email, undefined);
    assert.equal(byId[bobId].email, 'owner2@example.com');
    assert.equal((await bob.collection('users').getOne(annId)).email, undefined);
    assert.equal((await ann.collection('users').getOne(annId)).email, 'owner1@example.com');
    // Filtering on an email one cannot see is allowed by PocketBase for visible fields only... the
    // field is not hidden, so a filter may use it; the value still is not returned.
    await su.collections.update('users', { viewRule: 'id = @request.auth.id', listRule: 'id = @request.auth.id' });
  });

  test('roles: a role field only managers set, editors edit articles (docs/authorization.md)', async () => {
    const users = await su.collections.getOne('users');
    await su.collections.update('users', {
      fields: [...users.fields, { name: 'role', type: 'select', values: ['member', 'editor', 'admin'], maxSelect: 1 }],
      updateRule: 'id = @request.auth.id && @request.body.role:isset = false',
      manageRule: '@request.auth.role = "admin"',
    });
    await su.collections.create({
      name: 'articles',
      listRule: '',
      updateRule: '@request.auth.role = "editor" || @request.auth.role = "admin"',
      fields: [{ name: 'title', type: 'text' }],
    });
    const art = await su.collection('articles').create({ title: 'Draft' });
    const member = await signUp('member@example.com');
    const editor = await signUp('editor@example.com');
    const admin = await signUp('admin@example.com');
    await su.collection('users').update(editor.authStore.record.id, { role: 'editor' });
    await su.collection('users').update(admin.authStore.record.id, { role: 'admin' });
    // Tokens carry fresh data: sign the promoted users in again.
    await editor.collection('users').authWithPassword('editor@example.com', 'secret-pass-1');
    await admin.collection('users').authWithPassword('admin@example.com', 'secret-pass-1');
    // A member cannot promote themselves, but may change other fields of their own record.
    await assert.rejects(member.collection('users').update(member.authStore.record.id, { role: 'admin' }), (e) => e.status === 404);
    await member.collection('users').update(member.authStore.record.id, { name: 'M' });
    await assert.rejects(member.collection('articles').update(art.id, { title: 'x' }), (e) => e.status === 404);
    assert.equal((await editor.collection('articles').update(art.id, { title: 'Edited' })).title, 'Edited');
    // The admin manages other users: verify them, set their role, without their password.
    const managed = await send('PATCH', `/api/collections/users/records/${member.authStore.record.id}`, { verified: true }, admin.authStore.token);
    assert.equal(managed.status, 404, 'the updateRule still applies to records that are not the admin\'s own');
    await su.collections.update('users', { updateRule: '(id = @request.auth.id && @request.body.role:isset = false) || @request.auth.role = "admin"' });
    const ok = await send('PATCH', `/api/collections/users/records/${member.authStore.record.id}`, { verified: true, role: 'editor', password: 'reset-pass-12', passwordConfirm: 'reset-pass-12' }, admin.authStore.token);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.verified, true);
    assert.equal(ok.body.role, 'editor');
    await client().collection('users').authWithPassword('member@example.com', 'reset-pass-12');
    // Managers see the emails of the records they manage; others only public ones.
    await su.collections.update('users', { viewRule: '@request.auth.id != ""' });
    const asAdmin = await send('GET', `/api/collections/users/records/${member.authStore.record.id}`, undefined, admin.authStore.token);
    assert.equal(asAdmin.body.email, 'member@example.com');
    const asEditor = await send('GET', `/api/collections/users/records/${member.authStore.record.id}`, undefined, editor.authStore.token);
    assert.equal(asEditor.status, 200);
    assert.equal(asEditor.body.email, undefined);
    await su.collections.update('users', { viewRule: 'id = @request.auth.id', updateRule: 'id = @request.auth.id', manageRule: null });
  });

  test('teams: members see their team\'s projects and create projects only for it (docs/authorization.md)', async () => {
    const a = await signUp('team-a@example.com');
    const b = await signUp('team-b@example.com');
    const c = await signUp('team-c@example.com');
    await su.collections.create({
      name: 'teams',
      listRule: 'members.id ?= @request.auth.id',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'members', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 50 },
      ],
    });
    await su.collections.create({
      name: 'projects',
      listRule: 'team.members.id ?= @request.auth.id',
      viewRule: 'team.members.id ?= @request.auth.id',
      createRule: '@collection.teams.id ?= team && @collection.teams.members.id ?= @request.auth.id',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'team', type: 'relation', collectionId: 'teams', maxSelect: 1 },
      ],
    });
    const red = await su.collection('teams').create({ name: 'red', members: [a.authStore.record.id, b.authStore.record.id] });
    const blue = await su.collection('teams').create({ name: 'blue', members: [c.authStore.record.id] });
    await su.collection('projects').create({ title: 'red project', team: red.id });
    await su.collection('projects').create({ title: 'blue project', team: blue.id });
    assert.deepEqual((await a.collection('projects').getFullList()).map((p) => p.title), ['red project']);
    assert.deepEqual((await b.collection('projects').getFullList()).map((p) => p.title), ['red project']);
    assert.deepEqual((await c.collection('projects').getFullList()).map((p) => p.title), ['blue project']);
    assert.deepEqual((await a.collection('teams').getFullList()).map((t) => t.name), ['red']);
    const made = await a.collection('projects').create({ title: 'by a', team: red.id });
    assert.equal(made.title, 'by a');
    await assert.rejects(a.collection('projects').create({ title: 'sneaky', team: blue.id }), (e) => e.status === 400);
    await assert.rejects(client().collection('projects').create({ title: 'guest', team: red.id }), (e) => e.status === 400);
  });

  test('changing a password needs the old one, rotates the token key and ends every session', async () => {
    const pb = await signUp('change@example.com');
    const id = pb.authStore.record.id;
    const oldToken = pb.authStore.token;
    const other = client();
    await other.collection('users').authWithPassword('change@example.com', 'secret-pass-1');
    const noOld = await send('PATCH', `/api/collections/users/records/${id}`, { password: 'next-pass-12', passwordConfirm: 'next-pass-12' }, oldToken);
    assert.equal(noOld.status, 400);
    assert.equal(noOld.body.data.oldPassword.code, 'validation_required');
    const badOld = await send('PATCH', `/api/collections/users/records/${id}`, { password: 'next-pass-12', passwordConfirm: 'next-pass-12', oldPassword: 'wrong-pass-1' }, oldToken);
    assert.equal(badOld.body.data.oldPassword.code, 'validation_invalid_old_password');
    // Email and verified cannot be changed by the user (no manage access).
    const email = await send('PATCH', `/api/collections/users/records/${id}`, { email: 'new@example.com' }, oldToken);
    assert.equal(email.body.data.email.code, 'validation_values_mismatch');
    const verified = await send('PATCH', `/api/collections/users/records/${id}`, { verified: true }, oldToken);
    assert.equal(verified.body.data.verified.code, 'validation_values_mismatch');
    // The name can.
    assert.equal((await pb.collection('users').update(id, { name: 'Renamed' })).name, 'Renamed');
    // The real change.
    const ok = await send('PATCH', `/api/collections/users/records/${id}`, { password: 'next-pass-12', passwordConfirm: 'next-pass-12', oldPassword: 'secret-pass-1' }, oldToken);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await send('POST', '/api/collections/users/auth-refresh', {}, oldToken)).status, 401);
    assert.equal((await send('GET', `/api/collections/users/records/${id}`, undefined, other.authStore.token)).status, 404, 'the other session ended too');
    await assert.rejects(client().collection('users').authWithPassword('change@example.com', 'secret-pass-1'), (e) => e.status === 400);
    const again = client();
    await again.collection('users').authWithPassword('change@example.com', 'next-pass-12');
    assert.equal(again.authStore.record.name, 'Renamed');
    // Superusers manage without the old password.
    await su.collection('users').update(id, { password: 'third-pass-12', passwordConfirm: 'third-pass-12', verified: true });
    await client().collection('users').authWithPassword('change@example.com', 'third-pass-12');
  });

  test('sessions: list your own, revoke one, revoke the others, log out', async () => {
    const a = await signUp('sessions@example.com');
    const b = client();
    await b.collection('users').authWithPassword('sessions@example.com', 'secret-pass-1');
    const c = client();
    await c.collection('users').authWithPassword('sessions@example.com', 'secret-pass-1');
    const list = await send('GET', '/api/sessions', undefined, a.authStore.token);
    assert.equal(list.status, 200);
    assert.equal(list.body.items.length, 3);
    assert.equal(list.body.items.filter((s) => s.current).length, 1);
    assert.ok(list.body.items.every((s) => s.method === 'password' && s.recordId === a.authStore.record.id));
    const bSession = (await send('GET', '/api/sessions', undefined, b.authStore.token)).body.items.find((s) => s.current).id;
    // Another user cannot see or revoke them.
    const stranger = await signUp('stranger@example.com');
    assert.equal((await send('DELETE', `/api/sessions/${bSession}`, undefined, stranger.authStore.token)).status, 404);
    assert.equal((await send('GET', '/api/sessions', undefined, stranger.authStore.token)).body.items.length, 1);
    assert.equal((await send('GET', '/api/sessions')).status, 401);
    // Revoke b's session from a: b's token dies at once.
    assert.equal((await send('DELETE', `/api/sessions/${bSession}`, undefined, a.authStore.token)).status, 204);
    assert.equal((await send('POST', '/api/collections/users/auth-refresh', {}, b.authStore.token)).status, 401);
    assert.equal((await send('GET', '/api/sessions', undefined, b.authStore.token)).status, 401);
    // Revoke all but the current one: c dies, a lives.
    assert.equal((await send('DELETE', '/api/sessions', undefined, a.authStore.token)).status, 204);
    assert.equal((await send('GET', '/api/sessions', undefined, c.authStore.token)).status, 401);
    assert.equal((await send('GET', '/api/sessions', undefined, a.authStore.token)).body.items.length, 1);
    // Log out: the current token stops working.
    assert.equal((await send('POST', '/api/collections/users/auth-logout', {}, a.authStore.token)).status, 204);
    assert.equal((await send('POST', '/api/collections/users/auth-refresh', {}, a.authStore.token)).status, 401);
    // Superusers see anyone's sessions.
    const all = await send('GET', `/api/sessions?collectionId=_pb_users_auth_&recordId=${a.authStore.record.id}&revoked=1`, undefined, su.authStore.token);
    assert.equal(all.body.items.length, 3);
    assert.ok(all.body.items.every((s) => s.revoked !== ''));
  });

  test('impersonation: superusers only, a non-refreshable token of the record', async () => {
    const u = await signUp('imp@example.com');
    const id = u.authStore.record.id;
    assert.equal((await send('POST', `/api/collections/users/impersonate/${id}`, {})).status, 401);
    assert.equal((await send('POST', `/api/collections/users/impersonate/${id}`, {}, u.authStore.token)).status, 403);
    const r = await send('POST', `/api/collections/users/impersonate/${id}`, { duration: 60 }, su.authStore.token);
    assert.equal(r.status, 200);
    assert.equal(r.body.record.id, id);
    const payload = JSON.parse(Buffer.from(r.body.token.split('.')[1], 'base64url').toString());
    assert.equal(payload.refreshable, false);
    assert.ok(payload.exp - Date.now() / 1000 <= 61);
    const mine = await send('GET', '/api/collections/users/records', undefined, r.body.token);
    assert.deepEqual(mine.body.items.map((x) => x.id), [id]);
    assert.equal((await send('POST', `/api/collections/users/impersonate/zzzzzzzzzzzzzzz`, {}, su.authStore.token)).status, 404);
  });

  test('authRule gates sign-in; deleted users lose their tokens', async () => {
    const u = await signUp('gated@example.com');
    await su.collections.update('users', { authRule: 'verified = true' });
    const r = await send('POST', '/api/collections/users/auth-with-password', { identity: 'gated@example.com', password: 'secret-pass-1' });
    assert.equal(r.status, 403);
    await su.collections.update('users', { authRule: null });
    assert.equal((await send('POST', '/api/collections/users/auth-with-password', { identity: 'gated@example.com', password: 'secret-pass-1' })).status, 403);
    await su.collections.update('users', { authRule: '' });
    await su.collection('users').delete(u.authStore.record.id);
    assert.equal((await send('POST', '/api/collections/users/auth-refresh', {}, u.authStore.token)).status, 401);
    assert.equal((await send('GET', '/api/sessions', undefined, u.authStore.token)).status, 401);
  });

  test('@request.body:changed and :isset in rules: owners edit a post but cannot hand it away', async () => {
    const ann = await signUp('changed-a@example.com');
    const bob = await signUp('changed-b@example.com');
    await su.collections.create({
      name: 'posts2',
      listRule: 'owner = @request.auth.id',
      createRule: 'owner = @request.auth.id',
      updateRule: 'owner = @request.auth.id && @request.body.owner:changed = false',
      deleteRule: 'owner = @request.auth.id && @request.body.title:isset = false',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      ],
    });
    const annId = ann.authStore.record.id;
    const post = await ann.collection('posts2').create({ title: 'Mine', owner: annId });
    assert.equal((await ann.collection('posts2').update(post.id, { title: 'Still mine' })).title, 'Still mine');
    assert.equal((await ann.collection('posts2').update(post.id, { title: 'Same owner', owner: annId })).owner, annId, 'unchanged is fine');
    await assert.rejects(ann.collection('posts2').update(post.id, { owner: bob.authStore.record.id }), (e) => e.status === 404);
    assert.equal((await su.collection('posts2').getOne(post.id)).owner, annId);
    await ann.collection('posts2').delete(post.id);
    await assert.rejects(su.collection('posts2').getOne(post.id), (e) => e.status === 404);
  });

  test('values that reach rules (body, query, headers, auth fields) are bound, never SQL', async () => {
    await su.collections.create({
      name: 'vault',
      listRule: '@request.query.key = "open" || @request.headers.x_key = "open"',
      createRule: '@request.body.secret = "letmein" && @request.auth.name != "x\' OR 1=1"',
      fields: [{ name: 'secret', type: 'text' }],
    });
    await su.collection('vault').create({ secret: 'letmein' });
    const attacks = [`" OR 1=1 --`, `' OR '1'='1`, `open" OR "1"="1`, `x'); DROP TABLE vault; --`, `\\" || 1 || "`];
    for (const a of attacks) {
      const q = await send('GET', `/api/collections/vault/records?key=${encodeURIComponent(a)}`);
      assert.equal(q.status, 200);
      assert.equal(q.body.items.length, 0, a);
      const h = await getJson(srv.url + '/api/collections/vault/records', { headers: { 'X-Key': a } });
      assert.equal(h.body.items.length, 0, a);
      const c = await send('POST', '/api/collections/vault/records', { secret: a });
      assert.equal(c.status, 400, a);
    }
    // A user whose own fields hold SQL gets nothing more either.
    const evil = await signUp('evil@example.com', { name: `x' OR 1=1` });
    assert.equal((await send('POST', '/api/collections/vault/records', { secret: 'letmein' }, evil.authStore.token)).status, 400);
    assert.equal((await send('GET', '/api/collections/vault/records?key=open')).body.items.length, 1);
    assert.equal((await su.collection('vault').getFullList()).length, 1, 'the table is intact');
  });

  test('failed sign-ins are throttled per identity with Retry-After', async () => {
    await signUp('target@example.com');
    const statuses = [];
    let retry = null;
    for (let i = 0; i < 8; i++) {
      const r = await fetch(srv.url + '/api/collections/users/auth-with-password', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ identity: 'target@example.com', password: 'wrong-password-' + i }),
      });
      statuses.push(r.status);
      if (r.status === 429) retry = r.headers.get('retry-after');
    }
    assert.deepEqual(statuses.slice(0, 5), [400, 400, 400, 400, 400]);
    assert.ok(statuses.includes(429), statuses.join(','));
    assert.ok(Number(retry) >= 1);
    // The right password is refused too while the key is closed.
    const r = await send('POST', '/api/collections/users/auth-with-password', { identity: 'target@example.com', password: 'secret-pass-1' });
    assert.equal(r.status, 429);
  });

  test('auth collections can be created with their system fields and options', async () => {
    const c = await su.collections.create({
      name: 'members',
      type: 'auth',
      listRule: '',
      createRule: '',
      fields: [{ name: 'username', type: 'text', max: 40 }],
      indexes: ['CREATE UNIQUE INDEX idx_members_username ON members (username)'],
      passwordAuth: { enabled: true, identityFields: ['email', 'username'] },
      authToken: { duration: 3600 },
    });
    assert.deepEqual(c.fields.map((f) => f.name).slice(0, 7), ['id', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified', 'username']);
    assert.equal(c.authToken.duration, 3600);
    assert.ok(c.indexes.some((i) => i.includes('idx_email_')));
    const m = client();
    await m.collection('members').create({ email: 'm@example.com', username: 'mem', password: 'secret-pass-1', passwordConfirm: 'secret-pass-1' });
    await m.collection('members').authWithPassword('mem', 'secret-pass-1');
    assert.equal(m.authStore.record.username, 'mem');
    const payload = JSON.parse(Buffer.from(m.authStore.token.split('.')[1], 'base64url').toString());
    assert.ok(payload.exp - Date.now() / 1000 <= 3601);
    // Identity fields must be unique fields of the collection.
    const bad = await send('PATCH', '/api/collections/members', { passwordAuth: { identityFields: ['nope'] } }, su.authStore.token);
    assert.equal(bad.status, 400);
    // A token of members does not work as a users token.
    assert.equal((await send('POST', '/api/collections/users/auth-refresh', {}, m.authStore.token)).status, 403);
  });
});
