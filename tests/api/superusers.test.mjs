import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import PocketBase from 'pocketbase';
import { cli, getJson, startServer } from './helpers.mjs';

const EMAIL = 'admin@example.com';
const PASSWORD = 'correct-horse-1';
const b64 = (s) => Buffer.from(s).toString('base64url');

describe('superuser authentication', () => {
  let srv;
  before(async () => (srv = await startServer({ superuser: { email: EMAIL, password: PASSWORD } })));
  after(async () => srv && (await srv.stop()));

  const post = (path, body, headers = {}) =>
    getJson(srv.url + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('the SDK signs in, refreshes, and is a superuser', async () => {
    const pb = new PocketBase(srv.url);
    const auth = await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
    assert.ok(pb.authStore.isValid);
    assert.ok(pb.authStore.isSuperuser);
    assert.equal(auth.record.email, EMAIL);
    assert.equal(auth.record.collectionId, 'pbc_3142635823');
    assert.equal(auth.record.collectionName, '_superusers');
    assert.match(auth.record.id, /^[a-z0-9]{15}$/);
    assert.match(auth.record.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(auth.record.password, undefined);
    assert.equal(auth.record.tokenKey, undefined);

    const [, payload] = auth.token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    // PocketBase's claims, plus basalt's server-side session id.
    assert.deepEqual(Object.keys(claims).sort(), ['collectionId', 'exp', 'id', 'refreshable', 'sid', 'type']);
    assert.equal(claims.type, 'auth');
    assert.equal(claims.refreshable, true);
    assert.ok(claims.exp > Date.now() / 1000 + 86000);

    const refreshed = await pb.collection('_superusers').authRefresh();
    assert.equal(refreshed.record.id, auth.record.id);
    assert.ok(pb.authStore.isValid);

    const health = await pb.health.check();
    assert.equal(health.data.canBackup, true);
  });

  test('the token works with and without the Bearer prefix', async () => {
    const { body } = await post('/api/collections/_superusers/auth-with-password', { identity: EMAIL, password: PASSWORD });
    for (const value of [body.token, 'Bearer ' + body.token, 'bearer ' + body.token]) {
      const r = await post('/api/collections/_superusers/auth-refresh', '', { Authorization: value });
      assert.equal(r.status, 200, value.slice(0, 10));
    }
  });

  test('the email is case-insensitive and the collection may be named by id', async () => {
    const r = await post('/api/collections/pbc_3142635823/auth-with-password', {
      identity: EMAIL.toUpperCase(),
      password: PASSWORD,
    });
    assert.equal(r.status, 200);
  });

  test('wrong password and unknown email give the same answer', async () => {
    const wrong = await post('/api/collections/_superusers/auth-with-password', { identity: EMAIL, password: 'nope-nope' });
    const unknown = await post('/api/collections/_superusers/auth-with-password', {
      identity: 'ghost@example.com',
      password: 'nope-nope',
    });
    assert.equal(wrong.status, 400);
    assert.deepEqual(wrong.body, { status: 400, message: 'Failed to authenticate.', data: {} });
    assert.deepEqual(unknown.body, wrong.body);
  });

  test('the SDK surfaces the failure as a ClientResponseError', async () => {
    const pb = new PocketBase(srv.url);
    await assert.rejects(pb.collection('_superusers').authWithPassword(EMAIL, 'bad-password'), (e) => {
      assert.equal(e.status, 400);
      assert.equal(e.response.message, 'Failed to authenticate.');
      return true;
    });
  });

  test('missing fields are validation errors', async () => {
    const r = await post('/api/collections/_superusers/auth-with-password', { identity: '' });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'An error occurred while validating the submitted data.');
    assert.equal(r.body.data.identity.code, 'validation_required');
    assert.equal(r.body.data.password.code, 'validation_required');
  });

  test('invalid JSON is a 400 and the server keeps serving', async () => {
    for (const body of ['{"identity":', '[1,2]', 'null', '{"identity": 5, "password": "x"}', '['.repeat(5000)]) {
      const r = await post('/api/collections/_superusers/auth-with-password', body);
      assert.equal(r.status, 400, body.slice(0, 20));
      assert.equal(r.body.status, 400);
      assert.equal(typeof r.body.message, 'string');
    }
    assert.equal((await getJson(srv.url + '/api/health')).status, 200);
  });

  test('an unknown auth collection is a 404; a superuser is not a user', async () => {
    const r = await post('/api/collections/nope/auth-with-password', { identity: EMAIL, password: PASSWORD });
    assert.equal(r.status, 404);
    const users = await post('/api/collections/users/auth-with-password', { identity: EMAIL, password: PASSWORD });
    assert.equal(users.status, 400);
  });

  test('forged, expired, alg=none and garbage tokens make the request a guest', async () => {
    const { body } = await post('/api/collections/_superusers/auth-with-password', { identity: EMAIL, password: PASSWORD });
    const [h, p] = body.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const sign = (header, payload, key) =>
      `${header}.${payload}.${crypto.createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url')}`;
    const expired = b64(JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }));
    const tokens = {
      forged: sign(h, p, 'not-the-key'),
      expiredForged: sign(h, expired, 'x'),
      algNone: `${b64('{"alg":"none","typ":"JWT"}')}.${p}.`,
      algNoneSigned: `${b64('{"alg":"none","typ":"JWT"}')}.${p}.${body.token.split('.')[2]}`,
      tamperedPayload: `${h}.${b64(JSON.stringify({ ...claims, exp: claims.exp + 1000 }))}.${body.token.split('.')[2]}`,
      garbage: 'not.a.token',
      huge: 'a'.repeat(6000),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const health = await getJson(srv.url + '/api/health', { headers: { Authorization: token } });
      assert.equal(health.status, 200, name);
      assert.deepEqual(health.body.data, {}, name + ' must not be treated as a superuser');
      const refresh = await post('/api/collections/_superusers/auth-refresh', '', { Authorization: token });
      assert.equal(refresh.status, 401, name);
      assert.equal(refresh.body.status, 401);
    }
  });

  test('changing the password invalidates earlier tokens', async () => {
    const pb = new PocketBase(srv.url);
    await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
    const old = pb.authStore.token;
    const r = cli(['superuser', 'upsert', EMAIL, 'a-new-password', '--dir', srv.dir]);
    assert.equal(r.status, 0, r.stderr);
    const refresh = await post('/api/collections/_superusers/auth-refresh', '', { Authorization: old });
    assert.equal(refresh.status, 401);
    const fresh = await post('/api/collections/_superusers/auth-with-password', {
      identity: EMAIL,
      password: 'a-new-password',
    });
    assert.equal(fresh.status, 200);
    cli(['superuser', 'upsert', EMAIL, PASSWORD, '--dir', srv.dir]);
  });

  test('form-encoded bodies are accepted', async () => {
    const r = await getJson(srv.url + '/api/collections/_superusers/auth-with-password', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ identity: EMAIL, password: PASSWORD }).toString(),
    });
    assert.equal(r.status, 200);
  });
});
