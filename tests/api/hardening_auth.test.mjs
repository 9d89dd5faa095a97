// Regression tests for the authentication and authorization defects of the outside review
// (issue 11): OAuth2 sign-up and linking, hidden emails in filters, API key scopes in filters,
// realtime after revocation, and the auth side effects of /api/batch. Each test asserts the secure,
// PocketBase-like behaviour; every describe block runs its own server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { getJson, sleep, startServer } from './helpers.mjs';
import { startOidcProvider } from './oidc_provider.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const PASS = 'secret-pass-1';
const REDIRECT = 'http://localhost:5173/oauth-callback';
const IDP = { clientId: 'basalt-app', clientSecret: 'idp-secret-value' };

// ---- helpers ---------------------------------------------------------------------------------

/** A JSON request with an optional token (or API key); resolves {status, headers, body}. */
function caller(srv) {
  return (method, p, token, body) =>
    getJson(srv.url + p, {
      method,
      headers: { ...(token ? { Authorization: token } : {}), 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
}

async function superuser(srv) {
  const su = new PocketBase(srv.url);
  await su.collection('_superusers').authWithPassword(SU.email, SU.password);
  return su;
}

/** A local OIDC provider with `users`, a server with a superuser, OAuth2 enabled on users. */
// When the server cannot start (no binary, a broken build), the provider is closed here: the
// suite's variables are never assigned then, and an open provider would keep the test file (and
// CI) running for ever.
async function startWithOAuth2(users) {
  const idp = await startOidcProvider({ ...IDP, users });
  let srv;
  try {
    srv = await startServer({ superuser: SU });
    const su = await superuser(srv);
    await enableOAuth2(su, idp);
    return { idp, srv, su };
  } catch (e) {
    await stopAll(srv, idp);
    throw e;
  }
}

async function stopAll(srv, idp) {
  if (srv) await srv.stop();
  if (idp) await idp.close();
}

async function enableOAuth2(su, idp) {
  await su.collections.update('users', {
    oauth2: {
      enabled: true,
      mappedFields: { name: 'name' },
      providers: [
        {
          name: 'oidc',
          displayName: 'Local IdP',
          clientId: IDP.clientId,
          clientSecret: IDP.clientSecret,
          authURL: idp.base + '/authorize',
          tokenURL: idp.base + '/token',
          userInfoURL: idp.base + '/userinfo',
        },
      ],
    },
  });
}

/** The whole OAuth2 code flow for the IdP user `login`; resolves the auth-with-oauth2 answer. */
async function oauth2SignIn(srv, idp, login, extra = {}) {
  const methods = await getJson(`${srv.url}/api/collections/users/auth-methods`);
  const p = methods.body.oauth2.providers.find((x) => x.name === 'oidc');
  const { code } = await idp.authorize(p.authURL, REDIRECT, login);
  return caller(srv)('POST', '/api/collections/users/auth-with-oauth2', null, {
    provider: 'oidc',
    code,
    codeVerifier: p.codeVerifier,
    redirectURL: REDIRECT,
    ...extra,
  });
}

async function usersWithEmail(su, email) {
  return (await su.collection('users').getList(1, 10, { filter: `email = "${email}"` })).items;
}

async function addUserFields(su, fields, extra = {}) {
  const users = await su.collections.getOne('users');
  await su.collections.update('users', { fields: [...users.fields, ...fields], ...extra });
}

/** Runs SQL against the server's database with the sqlite3 CLI; null when that is not possible. */
function sqlite(dir, query) {
  const r = spawnSync('sqlite3', ['-readonly', path.join(dir, 'data.db'), query], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim();
}

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of s.replace(/=+$/, '')) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totp(secret, offsetSteps = 0) {
  const step = Math.floor(Date.now() / 1000 / 30) + offsetSteps;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const o = mac[mac.length - 1] & 15;
  const n = ((mac[o] & 127) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(n % 1e6).padStart(6, '0');
}

async function waitFor(pred, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(25);
  }
  assert.fail('timed out waiting for ' + what);
}

/**
 * A raw realtime (SSE) client: connects, waits for PB_CONNECT, subscribes to `topics` with
 * `token` (a JWT or an API key). Resolves {events, clientId, close()}; events are {event, data}.
 */
async function openStream(srv, token, topics) {
  const ctrl = new AbortController();
  const res = await fetch(srv.url + '/api/realtime', { signal: ctrl.signal, headers: { Accept: 'text/event-stream' } });
  assert.equal(res.status, 200);
  const events = [];
  let clientId = null;
  let onConnect;
  const connected = new Promise((resolve) => (onConnect = resolve));
  (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += dec.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            const c = line.indexOf(':');
            if (c <= 0) continue;
            const k = line.slice(0, c);
            const v = line.slice(c + 1).replace(/^ /, '');
            if (k === 'event') ev.event = v;
            else if (k === 'data') ev.data += v;
          }
          if (ev.event === 'PB_CONNECT') {
            clientId = JSON.parse(ev.data).clientId;
            onConnect();
          } else {
            events.push(ev);
          }
        }
      }
    } catch {
      // aborted or closed by the server
    }
  })();
  await Promise.race([connected, sleep(5000).then(() => assert.fail('no PB_CONNECT'))]);
  const sub = await caller(srv)('POST', '/api/realtime', token, { clientId, subscriptions: topics });
  assert.equal(sub.status, 204, 'subscribe: ' + JSON.stringify(sub.body));
  return { events, clientId, close: () => ctrl.abort() };
}

const texts = (stream) =>
  stream.events
    .map((e) => {
      try {
        return JSON.parse(e.data).record?.text;
      } catch {
        return undefined;
      }
    })
    .filter((t) => t !== undefined);

// ---- 11.1: OAuth2 sign-up runs the collection's create rule and drops hidden fields -------------

describe('issue 11.1: OAuth2 sign-up honours createRule and hidden fields', () => {
  let srv;
  let idp;
  let su;

  before(async () => {
    ({ idp, srv, su } = await startWithOAuth2({
      rolly: { sub: 'rolly-1', email: 'rolly@example.com', email_verified: true, name: 'Rolly' },
      rolly2: { sub: 'rolly-2', email: 'rolly2@example.com', email_verified: true, name: 'Rolly Two' },
      plain: { sub: 'plain-1', email: 'plain@example.com', email_verified: true, name: 'Plain' },
      plain2: { sub: 'plain-2', email: 'plain2@example.com', email_verified: true, name: 'Plain Two' },
      hidey: { sub: 'hidey-1', email: 'hidey@example.com', email_verified: true, name: 'Hidey' },
    }));
    await addUserFields(su, [
      { name: 'role', type: 'text' },
      { name: 'note', type: 'text', hidden: true },
    ]);
  });
  after(() => stopAll(srv, idp));

  test('issue 11.1: createData that the createRule forbids creates no account (400, like a plain create)', async () => {
    // Rule on the request body.
    await su.collections.update('users', { createRule: '@request.body.role:isset = false' });
    const bad = await oauth2SignIn(srv, idp, 'rolly', { createData: { role: 'admin' } });
    assert.equal(bad.status, 400, 'createRule failure: ' + JSON.stringify(bad.body));
    assert.equal(bad.body?.token, undefined);
    assert.deepEqual(await usersWithEmail(su, 'rolly@example.com'), [], 'no record was created');
    // The same sign-up without the forbidden field works (the rule is run, not "create refused").
    const ok = await oauth2SignIn(srv, idp, 'plain', { createData: {} });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.meta.isNew, true);
    assert.equal(ok.body.record.role, '');

    // Rule on the new record's fields.
    await su.collections.update('users', { createRule: 'role != "admin"' });
    const bad2 = await oauth2SignIn(srv, idp, 'rolly2', { createData: { role: 'admin' } });
    assert.equal(bad2.status, 400, 'createRule failure: ' + JSON.stringify(bad2.body));
    assert.deepEqual(await usersWithEmail(su, 'rolly2@example.com'), [], 'no record was created');
    const ok2 = await oauth2SignIn(srv, idp, 'plain2', { createData: { role: 'member' } });
    assert.equal(ok2.status, 200, JSON.stringify(ok2.body));
    assert.equal(ok2.body.record.role, 'member');
    await su.collections.update('users', { createRule: '' });
  });

  test('issue 11.1: a hidden field in createData is never stored for a non-superuser', async () => {
    await su.collections.update('users', { createRule: '' });
    const r = await oauth2SignIn(srv, idp, 'hidey', { createData: { note: 'planted-by-client', role: 'member' } });
    const found = await usersWithEmail(su, 'hidey@example.com');
    if (r.status === 200) {
      // PocketBase: recordDataFromRequest drops hidden fields for non-superusers; the sign-up succeeds.
      assert.equal(found.length, 1);
      assert.equal(found[0].note, '', 'the hidden field was set from createData');
      assert.equal(found[0].role, 'member');
      assert.equal(r.body.record.note, undefined, 'hidden fields are not returned');
    } else {
      assert.ok(r.status >= 400 && r.status < 500, 'status ' + r.status);
      assert.deepEqual(found, [], 'a refused sign-up creates no record');
    }
  });
});

// ---- 11.2: OAuth2 linking an unverified record resets its password (account pre-takeover) -------

describe('issue 11.2: OAuth2 linking of an unverified account', () => {
  let srv;
  let idp;
  let su;

  before(async () => {
    ({ idp, srv, su } = await startWithOAuth2({
      victim: { sub: 'victim-1', email: 'victim@example.com', email_verified: true, name: 'Victim' },
    }));
  });
  after(() => stopAll(srv, idp));

  test("issue 11.2: the attacker's pre-registered password and token stop working once the victim signs in with OAuth2", async () => {
    const call = caller(srv);
    // The attacker signs up first with the victim's email (public sign-up, unverified).
    const attacker = new PocketBase(srv.url);
    const pre = await attacker.collection('users').create({ email: 'victim@example.com', password: 'attacker-pass-1', passwordConfirm: 'attacker-pass-1' });
    assert.equal(pre.verified, false);
    await attacker.collection('users').authWithPassword('victim@example.com', 'attacker-pass-1');
    const attackerToken = attacker.authStore.token;

    // The victim signs in with the provider, which vouches for the email.
    const signedIn = await oauth2SignIn(srv, idp, 'victim');
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal(signedIn.body.meta.isNew, false, 'linked to the existing record by email (as PocketBase does)');
    assert.equal(signedIn.body.record.id, pre.id);
    assert.equal(signedIn.body.record.verified, true, 'the record is verified by the link');

    // The attacker's password was replaced by a random one; the attacker's token died with it.
    const pw = await call('POST', '/api/collections/users/auth-with-password', null, { identity: 'victim@example.com', password: 'attacker-pass-1' });
    assert.equal(pw.status, 400, "the attacker's password still signs in: " + JSON.stringify(pw.body));
    assert.equal((await call('POST', '/api/collections/users/auth-refresh', attackerToken, {})).status, 401, "the attacker's token still works");
    const rec = await su.collection('users').getOne(pre.id);
    assert.equal(rec.verified, true);
    // The victim's own session is fine.
    assert.equal((await call('POST', '/api/collections/users/auth-refresh', signedIn.body.token, {})).status, 200);
  });
});

// ---- 11.3: filters do not reveal hidden emails -----------------------------------------------

describe('issue 11.3: hidden emails in filters', () => {
  let srv;
  let su;
  let call;
  let ids;
  let otherToken;
  let victimToken;

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = await superuser(srv);
    call = caller(srv);
    const teams = await su.collections.create({ name: 'teams', listRule: '', viewRule: '', fields: [{ name: 'name', type: 'text' }] });
    // Users are listable by anyone (a public directory), but emails stay per-record private.
    await addUserFields(su, [{ name: 'team', type: 'relation', collectionId: teams.id, maxSelect: 1 }], { listRule: '', viewRule: '' });
    await su.collections.create({
      name: 'posts',
      listRule: '',
      viewRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      ],
    });
    const red = await su.collection('teams').create({ name: 'red' });
    const blue = await su.collection('teams').create({ name: 'blue' });
    const green = await su.collection('teams').create({ name: 'green' });
    const mk = (email, emailVisibility, team) =>
      su.collection('users').create({ email, emailVisibility, team, password: PASS, passwordConfirm: PASS });
    const victim = await mk('victim@example.com', false, red.id);
    const open = await mk('open@example.com', true, blue.id);
    const other = await mk('other@example.com', false, green.id);
    await su.collection('posts').create({ title: 'by victim', author: victim.id });
    await su.collection('posts').create({ title: 'by open', author: open.id });
    ids = { victim: victim.id, open: open.id, other: other.id, red: red.id, blue: blue.id };
    const sign = async (email) => {
      const pb = new PocketBase(srv.url);
      await pb.collection('users').authWithPassword(email, PASS);
      return pb.authStore.token;
    };
    otherToken = await sign('other@example.com');
    victimToken = await sign('victim@example.com');
  });
  after(async () => srv && (await srv.stop()));

  const list = (collection, filter, token) =>
    call('GET', `/api/collections/${collection}/records?` + new URLSearchParams({ filter }), token);
  const ids_ = (r) => (r.status === 200 ? r.body.items.map((i) => i.id) : `status ${r.status}`);
  /** No match: an empty page, or a refusal. */
  const assertNoMatch = async (collection, filter, token, who) => {
    const r = await list(collection, filter, token);
    assert.ok(r.status >= 400 || (r.status === 200 && r.body.items.length === 0), `${who}: ${collection}?filter=${filter} revealed a hidden email: ${JSON.stringify(ids_(r))}`);
  };
  const assertMatches = async (collection, filter, token, expected, who) => {
    const r = await list(collection, filter, token);
    assert.equal(r.status, 200, `${who}: ${collection}?filter=${filter}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(r.body.items.map((i) => i.id).sort(), [...expected].sort(), `${who}: ${collection}?filter=${filter}`);
  };

  test('issue 11.3: a guest or another user cannot match on a hidden email (relation, own collection, back-relation, @collection)', async () => {
    for (const [who, token] of [['guest', null], ['other user', otherToken]]) {
      // Through a relation.
      await assertNoMatch('posts', "author.email = 'victim@example.com'", token, who);
      await assertNoMatch('posts', "author.email ~ 'victim%'", token, who);
      // On the auth collection itself.
      await assertNoMatch('users', "email = 'victim@example.com'", token, who);
      await assertNoMatch('users', "email ~ 'vic%'", token, who);
      await assertNoMatch('users', `id = '${ids.victim}' && email ~ 'v%'`, token, who);
      // Through a back-relation into the auth collection.
      await assertNoMatch('teams', "users_via_team.email ?= 'victim@example.com'", token, who);
      await assertNoMatch('teams', "users_via_team.email ?~ 'victim'", token, who);
      // Through @collection (superuser-only in client filters: refused, or no match).
      await assertNoMatch('posts', "@collection.users.email = 'victim@example.com'", token, who);
      // Public emails still match (the filter is not simply refused).
      const r = await list('posts', "author.email = 'open@example.com'", token);
      assert.equal(r.status, 200, `${who}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.items.length, 1, `${who}: a public email no longer matches`);
      await assertMatches('users', "email = 'open@example.com'", token, [ids.open], who);
      await assertMatches('teams', "users_via_team.email ?= 'open@example.com'", token, [ids.blue], who);
    }
  });

  test('issue 11.3: superusers (and the owner, on their own record) can still filter on a hidden email', async () => {
    const root = su.authStore.token;
    const victimPost = (await su.collection('posts').getFirstListItem('title = "by victim"')).id;
    await assertMatches('posts', "author.email = 'victim@example.com'", root, [victimPost], 'superuser');
    await assertMatches('users', "email = 'victim@example.com'", root, [ids.victim], 'superuser');
    await assertMatches('teams', "users_via_team.email ?= 'victim@example.com'", root, [ids.red], 'superuser');
    // basalt shows the owner its own email; PocketBase itself is stricter here (its resolver adds
    // "emailVisibility = true" for every non-superuser filter, the owner included).
    await assertMatches('users', "email = 'victim@example.com'", victimToken, [ids.victim], 'owner');
  });
});

// ---- 11.4: API key scopes hold in filters, sorts and expands ----------------------------------

describe('issue 11.4: scoped API keys in filters, sorts and expands', () => {
  let srv;
  let su;
  let call;
  const keys = {};
  let victimId;

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = await superuser(srv);
    call = caller(srv);
    await su.collections.update('users', { listRule: '', viewRule: '' });
    await su.collections.create({
      name: 'posts',
      listRule: '',
      viewRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'secret', type: 'text', hidden: true },
        { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      ],
    });
    await su.collections.create({ name: 'vault', fields: [{ name: 'code', type: 'text' }] }); // superusers only
    await su.collection('vault').create({ code: 'alpha-123' });
    const a = await su.collection('users').create({ email: 'aaa-victim@example.com', name: 'Victim', password: PASS, passwordConfirm: PASS });
    const z = await su.collection('users').create({ email: 'zzz-other@example.com', name: 'Other', password: PASS, passwordConfirm: PASS });
    victimId = a.id;
    // Creation order opposite to the email order, so a sort by author.email shows.
    await su.collection('posts').create({ title: 'second', secret: 's3cret-z', author: z.id });
    await su.collection('posts').create({ title: 'first', secret: 's3cret', author: a.id });
    const make = async (collection, recordId, scopes) => {
      const r = await call('POST', '/api/keys', su.authStore.token, { name: scopes.join(' '), collection, recordId, scopes });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.key;
    };
    const suId = su.authStore.record.id;
    keys.suPosts = await make('_superusers', suId, ['posts:list']);
    keys.suAdmin = await make('_superusers', suId, ['admin']);
    keys.userPosts = await make('users', a.id, ['posts:list']);
    keys.userPostsUsers = await make('users', a.id, ['posts:list', 'users:list', 'users:view']);
  });
  after(async () => srv && (await srv.stop()));

  const posts = (key, params) => call('GET', '/api/collections/posts/records?' + new URLSearchParams(params), key);
  const show = (r) => (r.status === 200 ? JSON.stringify(r.body.items.map((i) => i.title)) : JSON.stringify(r.body));
  /** A true and a false condition must both be refused, with the same status: no oracle. */
  const assertRefused = async (key, what, trueFilter, falseFilter) => {
    const t = await posts(key, { filter: trueFilter });
    const f = await posts(key, { filter: falseFilter });
    assert.ok(t.status >= 400 && f.status >= 400, `${what}: expected 400/403, got ${t.status} ${show(t)} / ${f.status} ${show(f)}`);
    assert.equal(t.status, f.status, `${what}: the answer differs between a true and a false condition`);
  };
  /** A sort into out-of-scope data: refused, or an order that does not depend on that data. */
  const assertSortNoOracle = async (key, what, field) => {
    const up = await posts(key, { sort: field });
    const down = await posts(key, { sort: '-' + field });
    if (up.status >= 400 && down.status >= 400) return;
    assert.equal(up.status, 200, `${what}: ${show(up)}`);
    assert.deepEqual(up.body.items.map((i) => i.id), down.body.items.map((i) => i.id), `${what}: sort=${field} orders by out-of-scope data ${show(up)} vs ${show(down)}`);
  };

  test('issue 11.4: a superuser-bound key scoped to posts:list cannot read other collections or hidden fields through filters', async () => {
    const k = keys.suPosts;
    // Sanity: the key lists posts.
    const plain = await posts(k, {});
    assert.equal(plain.status, 200);
    assert.equal(plain.body.items.length, 2);
    await assertRefused(k, '@collection.vault (superuser-only collection)', "@collection.vault.code = 'alpha-123'", "@collection.vault.code = 'nope'");
    await assertRefused(k, '@collection.users.email', "@collection.users.email = 'aaa-victim@example.com'", "@collection.users.email = 'nobody@example.com'");
    await assertRefused(k, '@collection._superusers.email', "@collection._superusers.email = 'root@example.com'", "@collection._superusers.email = 'nobody@example.com'");
    await assertRefused(k, 'author.tokenKey (hidden, out of scope)', "author.tokenKey != ''", "author.tokenKey = ''");
    await assertRefused(k, 'author.email (out of scope)', "author.email = 'aaa-victim@example.com'", "author.email = 'nobody@example.com'");
    await assertRefused(k, 'secret (hidden field, no admin scope)', "secret = 's3cret'", "secret = 'nope'");
    // Hidden fields are not returned without the admin scope.
    assert.ok(plain.body.items.every((i) => i.secret === undefined), 'hidden field returned: ' + JSON.stringify(plain.body.items));
    // Sort and expand into another collection.
    await assertSortNoOracle(k, 'sort by author.email', 'author.email');
    await assertSortNoOracle(k, 'sort by author.tokenKey', 'author.tokenKey');
    await assertSortNoOracle(k, 'sort by hidden secret', 'secret');
    const ex = await posts(k, { expand: 'author' });
    assert.ok(ex.status >= 400 || ex.body.items.every((i) => i.expand?.author === undefined), 'expand into users: ' + JSON.stringify(ex.body));
  });

  test('issue 11.4: a user-bound key scoped to posts:list cannot filter, sort or expand through relations into users', async () => {
    const k = keys.userPosts;
    assert.equal((await posts(k, {})).status, 200);
    await assertRefused(k, 'author.name (out of scope)', "author.name = 'Victim'", "author.name = 'Nobody'");
    await assertRefused(k, 'author.email (out of scope)', "author.email = 'aaa-victim@example.com'", "author.email = 'nobody@example.com'");
    await assertRefused(k, '@collection.vault', "@collection.vault.code = 'alpha-123'", "@collection.vault.code = 'nope'");
    await assertSortNoOracle(k, 'sort by author.name', 'author.name');
    const ex = await posts(k, { expand: 'author' });
    assert.ok(ex.status >= 400 || ex.body.items.every((i) => i.expand?.author === undefined), 'expand into users: ' + JSON.stringify(ex.body));
  });

  test('issue 11.4: keys whose scopes cover the target still work (admin; users:list)', async () => {
    // The admin scope is a superuser: @collection, hidden fields.
    const hit = await posts(keys.suAdmin, { filter: "@collection.vault.code = 'alpha-123'" });
    assert.equal(hit.status, 200, JSON.stringify(hit.body));
    assert.equal(hit.body.items.length, 2);
    assert.equal((await posts(keys.suAdmin, { filter: "@collection.vault.code = 'nope'" })).body.items.length, 0);
    assert.ok(hit.body.items.some((i) => i.secret === 's3cret'), 'admin keys see hidden fields');
    // A user key that may list users may filter through the relation.
    const rel = await posts(keys.userPostsUsers, { filter: "author.name = 'Victim'" });
    assert.equal(rel.status, 200, JSON.stringify(rel.body));
    assert.deepEqual(rel.body.items.map((i) => i.author), [victimId]);
  });
});

// ---- 5: realtime follows revocation -----------------------------------------------------------

describe('issue 11.5: realtime after logout, session revocation and key revocation', () => {
  let srv;
  let su;
  let call;
  const streams = [];

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = await superuser(srv);
    call = caller(srv);
    await su.collections.create({
      name: 'feed',
      listRule: '@request.auth.id != ""',
      viewRule: '@request.auth.id != ""',
      fields: [{ name: 'text', type: 'text' }],
    });
    await su.collection('users').create({ email: 'reader@example.com', password: PASS, passwordConfirm: PASS });
  });
  after(async () => {
    for (const s of streams) s.close();
    if (srv) await srv.stop();
  });

  const signIn = async () => {
    const pb = new PocketBase(srv.url);
    await pb.collection('users').authWithPassword('reader@example.com', PASS);
    return pb;
  };
  /** Subscribes with `token`, proves delivery, runs `revoke`, and checks nothing arrives after it. */
  const check = async (label, token, revoke) => {
    const stream = await openStream(srv, token, ['feed/*']);
    streams.push(stream);
    await su.collection('feed').create({ text: `${label}-before` });
    await waitFor(() => texts(stream).includes(`${label}-before`), 3000, `${label}: delivery before the revocation`);
    await revoke();
    await sleep(1200); // the revocation may take up to ~1 s to reach the realtime hub
    await su.collection('feed').create({ text: `${label}-after` });
    await sleep(800);
    assert.deepEqual(texts(stream).filter((t) => t.startsWith(label)), [`${label}-before`], `${label}: an event was delivered after the revocation`);
    stream.close();
  };

  test('issue 11.5: after auth-logout the stream gets no more events', async () => {
    const pb = await signIn();
    await check('logout', pb.authStore.token, async () => {
      assert.equal((await call('POST', '/api/collections/users/auth-logout', pb.authStore.token, {})).status, 204);
    });
  });

  test('issue 11.5: after DELETE /api/sessions/{id} the stream gets no more events', async () => {
    const pb = await signIn();
    const sessions = await call('GET', '/api/sessions', pb.authStore.token);
    const sid = sessions.body.items.find((s) => s.current).id;
    const other = await signIn(); // revoked from another session of the same user
    await check('session', pb.authStore.token, async () => {
      assert.equal((await call('DELETE', `/api/sessions/${sid}`, other.authStore.token)).status, 204);
    });
  });

  test('issue 11.5: after the API key is revoked the stream gets no more events', async () => {
    const userId = (await usersWithEmail(su, 'reader@example.com'))[0].id;
    const made = await call('POST', '/api/keys', su.authStore.token, { name: 'rt', collection: 'users', recordId: userId, scopes: ['feed:list', 'feed:view'] });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    await check('apikey', made.body.key, async () => {
      assert.equal((await call('DELETE', `/api/keys/${made.body.id}`, su.authStore.token)).status, 204);
    });
  });
});

// ---- 11: /api/batch performs the auth side effects of the single-record API ---------------------

describe('issue 11.11: auth side effects of writes through /api/batch', () => {
  let srv;
  let idp;
  let su;
  let call;

  before(async () => {
    ({ idp, srv, su } = await startWithOAuth2({
      dee: { sub: 'dee-1', email: 'dee@example.com', email_verified: true, name: 'Dee' },
    }));
    call = caller(srv);
    await su.settings.update({ batch: { enabled: true, maxRequests: 10 } });
  });
  after(() => stopAll(srv, idp));

  const batch = (token, requests) => call('POST', '/api/batch', token, { requests });
  const signIn = async (email, password) => {
    const r = await call('POST', '/api/collections/users/auth-with-password', null, { identity: email, password });
    assert.equal(r.status, 200, `${email}: ${JSON.stringify(r.body)}`);
    return r.body.token;
  };
  const liveSessions = async (id) => {
    const r = await call('GET', `/api/sessions?collectionId=_pb_users_auth_&recordId=${id}`, su.authStore.token);
    assert.equal(r.status, 200);
    return r.body.items.filter((s) => !s.revoked);
  };

  test('issue 11.11: a password changed through /api/batch by a superuser ends the old tokens and sessions', async () => {
    const u = await su.collection('users').create({ email: 'batch-su@example.com', password: PASS, passwordConfirm: PASS });
    const t1 = await signIn('batch-su@example.com', PASS);
    const t2 = await signIn('batch-su@example.com', PASS);
    assert.equal((await liveSessions(u.id)).length, 2);
    const r = await batch(su.authStore.token, [
      { method: 'PATCH', url: `/api/collections/users/records/${u.id}`, body: { password: 'batch-new-pass-1', passwordConfirm: 'batch-new-pass-1' } },
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await call('POST', '/api/collections/users/auth-refresh', t1, {})).status, 401, 'the old token still refreshes');
    assert.equal((await call('POST', '/api/collections/users/auth-refresh', t2, {})).status, 401, 'the other old token still refreshes');
    assert.deepEqual(await liveSessions(u.id), [], 'sessions survived the password change');
    assert.equal((await call('POST', '/api/collections/users/auth-with-password', null, { identity: 'batch-su@example.com', password: PASS })).status, 400);
    await signIn('batch-su@example.com', 'batch-new-pass-1');
  });

  test('issue 11.11: a password changed through /api/batch by the user (oldPassword) ends the old tokens and sessions', async () => {
    const u = await su.collection('users').create({ email: 'batch-self@example.com', password: PASS, passwordConfirm: PASS });
    const t1 = await signIn('batch-self@example.com', PASS);
    const t2 = await signIn('batch-self@example.com', PASS);
    const r = await batch(t1, [
      { method: 'PATCH', url: `/api/collections/users/records/${u.id}`, body: { oldPassword: PASS, password: 'batch-new-pass-2', passwordConfirm: 'batch-new-pass-2' } },
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await call('POST', '/api/collections/users/auth-refresh', t1, {})).status, 401, 'the token used for the change still refreshes');
    assert.equal((await call('POST', '/api/collections/users/auth-refresh', t2, {})).status, 401, 'the other old token still refreshes');
    assert.deepEqual(await liveSessions(u.id), [], 'sessions survived the password change');
    await signIn('batch-self@example.com', 'batch-new-pass-2');
  });

  test('issue 11.11: deleting an auth record through /api/batch removes its sessions, API keys, OAuth2 links and TOTP', async () => {
    const id = 'batchdelvictim1';
    await su.collection('users').create({ id, email: 'dee@example.com', password: PASS, passwordConfirm: PASS, verified: true });
    const pwToken = await signIn('dee@example.com', PASS);
    // An OAuth2 link (by the verified email).
    const linked = await oauth2SignIn(srv, idp, 'dee');
    assert.equal(linked.status, 200, JSON.stringify(linked.body));
    assert.equal(linked.body.record.id, id);
    const oauthToken = linked.body.token;
    // An API key.
    const key = await call('POST', '/api/keys', su.authStore.token, { name: 'dee', collection: 'users', recordId: id, scopes: ['users:view'] });
    assert.equal(key.status, 200, JSON.stringify(key.body));
    assert.equal((await call('GET', `/api/collections/users/records/${id}`, key.body.key)).status, 200);
    // An enabled TOTP.
    const setup = await call('POST', '/api/collections/users/totp-setup', pwToken, { password: PASS });
    assert.equal(setup.status, 200, JSON.stringify(setup.body));
    let enabled = await call('POST', '/api/collections/users/totp-enable', pwToken, { code: totp(setup.body.secret) });
    if (enabled.status !== 200) enabled = await call('POST', '/api/collections/users/totp-enable', pwToken, { code: totp(setup.body.secret, 1) });
    assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
    assert.equal((await liveSessions(id)).length, 2);

    const r = await batch(su.authStore.token, [{ method: 'DELETE', url: `/api/collections/users/records/${id}` }]);
    assert.equal(r.status, 200, JSON.stringify(r.body));

    // Sessions and tokens.
    assert.deepEqual(await liveSessions(id), [], 'sessions of the deleted record are still live');
    assert.equal((await call('POST', '/api/collections/users/auth-refresh', pwToken, {})).status, 401);
    assert.equal((await call('POST', '/api/collections/users/auth-refresh', oauthToken, {})).status, 401);
    // API keys.
    const listed = await call('GET', '/api/keys', su.authStore.token);
    assert.deepEqual(listed.body.items.filter((k) => k.recordId === id).map((k) => k.id), [], 'the API key of the deleted record is still listed');
    // The rows themselves (when the sqlite3 CLI is at hand).
    const rows = sqlite(
      srv.dir,
      `SELECT (SELECT count(*) FROM _externalAuths WHERE recordRef = '${id}') || ',' || (SELECT count(*) FROM _totps WHERE recordId = '${id}') || ',' || (SELECT count(*) FROM _apiKeys WHERE recordId = '${id}')`,
    );
    if (rows !== null) assert.equal(rows, '0,0,0', '_externalAuths,_totps,_apiKeys rows left for the deleted record');

    // A new record that reuses the id inherits none of it.
    await su.collection('users').create({ id, email: 'newcomer@example.com', password: PASS, passwordConfirm: PASS });
    const keyUse = await call('GET', `/api/collections/users/records/${id}`, key.body.key);
    assert.notEqual(keyUse.status, 200, "the deleted record's API key works for the new record: " + JSON.stringify(keyUse.body));
    const pw = await call('POST', '/api/collections/users/auth-with-password', null, { identity: 'newcomer@example.com', password: PASS });
    assert.equal(pw.status, 200, "the deleted record's TOTP applies to the new record: " + JSON.stringify(pw.body));
    const again = await oauth2SignIn(srv, idp, 'dee');
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.notEqual(again.body.record.id, id, "the deleted record's OAuth2 link signs in to the new record");
    assert.equal(again.body.meta.isNew, true);
  });
});
