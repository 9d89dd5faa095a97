// OAuth2 sign-in (authorization code + PKCE) against a local OpenID Connect provider: auth-methods
// hands out the flow, auth-with-oauth2 exchanges the code, creates or links the account, and never
// returns the client secret.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';
import { startOidcProvider } from './oidc_provider.mjs';

globalThis.EventSource = EventSource;

const SU = { email: 'root@example.com', password: 'root-password-1' };
const REDIRECT = 'http://localhost:5173/oauth-callback';

describe('OAuth2', () => {
  let srv;
  let idp;
  let su;
  const client = () => new PocketBase(srv.url);
  const flow = async (login) => {
    const methods = await client().collection('users').listAuthMethods();
    const p = methods.oauth2.providers.find((x) => x.name === 'oidc');
    const { code, state } = await idp.authorize(p.authURL, REDIRECT, login);
    assert.equal(state, p.state);
    return { provider: p, code };
  };

  before(async () => {
    idp = await startOidcProvider({
      clientId: 'basalt-app',
      clientSecret: 'idp-secret-value',
      users: {
        alice: { sub: 'alice-1', email: 'alice@example.com', email_verified: true, name: 'Alice', picture: 'https://img/a.png' },
        dora: { sub: 'dora-1', email: 'dora@example.com', email_verified: true, name: 'Dora' },
        bob: { sub: 'bob-1', email: 'bob@example.com', email_verified: true, name: 'Bob' },
        mallory: { sub: 'mallory-1', email: 'existing@example.com', email_verified: false, name: 'Mallory' },
      },
    });
    srv = await startServer({ superuser: SU });
    su = client();
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.update('users', {
      oauth2: {
        enabled: true,
        mappedFields: { name: 'name' },
        providers: [
          {
            name: 'oidc',
            displayName: 'Local IdP',
            clientId: 'basalt-app',
            clientSecret: 'idp-secret-value',
            authURL: idp.base + '/authorize',
            tokenURL: idp.base + '/token',
            userInfoURL: idp.base + '/userinfo',
          },
        ],
      },
    });
  });
  after(async () => {
    if (srv) await srv.stop();
    if (idp) await idp.close();
  });

  test('the SDK popup flow: /api/oauth2-redirect hands the code to the realtime @oauth2 client', async () => {
    const pb = client();
    let pageStatus = 0;
    const auth = await pb.collection('users').authWithOAuth2({
      provider: 'oidc',
      // Plays the browser: the provider's login page redirects to basalt's /api/oauth2-redirect.
      urlCallback: async (url) => {
        const res = await fetch(url + '&login=dora', { redirect: 'manual' });
        assert.equal(res.status, 302);
        const back = new URL(res.headers.get('location'));
        assert.equal(back.pathname, '/api/oauth2-redirect');
        const page = await fetch(back);
        pageStatus = page.status;
        assert.match(page.headers.get('content-type'), /^text\/html/);
      },
    });
    assert.equal(pageStatus, 200);
    assert.equal(auth.record.email, 'dora@example.com');
    assert.ok(pb.authStore.isValid);
    // A redirect naming no realtime client delivers nothing.
    const stray = await fetch(`${srv.url}/api/oauth2-redirect?state=${'x'.repeat(40)}&code=abc`);
    assert.equal(stray.status, 400);
  });

  test('the client secret is write-only; auth-methods offers the flow with PKCE', async () => {
    const users = await su.collections.getOne('users');
    assert.equal(users.oauth2.providers[0].clientSecret, undefined);
    assert.equal(JSON.stringify(users).includes('idp-secret-value'), false);
    // Changing another option keeps the stored secret.
    await su.collections.update('users', { oauth2: { ...users.oauth2, providers: [{ ...users.oauth2.providers[0], displayName: 'Local' }] } });
    const methods = await client().collection('users').listAuthMethods();
    assert.equal(methods.oauth2.enabled, true);
    const p = methods.oauth2.providers[0];
    assert.equal(p.displayName, 'Local');
    assert.equal(p.codeChallengeMethod, 'S256');
    assert.match(p.authURL, /code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256&redirect_uri=$/);
    assert.match(p.authURL, /client_id=basalt-app/);
  });

  test('first sign-in creates the account; the next one finds it through the link', async () => {
    const { provider, code } = await flow('alice');
    const pb = client();
    const auth = await pb.collection('users').authWithOAuth2Code('oidc', code, provider.codeVerifier, REDIRECT, { name: 'ignored?' });
    assert.equal(auth.meta.isNew, true);
    assert.equal(auth.meta.email, 'alice@example.com');
    assert.equal(auth.meta.rawUser.sub, 'alice-1');
    assert.equal(auth.record.email, 'alice@example.com');
    assert.equal(auth.record.verified, true);
    assert.equal(auth.record.name, 'Alice', 'mapped from the provider');
    assert.ok(pb.authStore.isValid);
    const again = await flow('alice');
    const second = await client().collection('users').authWithOAuth2Code('oidc', again.code, again.provider.codeVerifier, REDIRECT);
    assert.equal(second.meta.isNew, false);
    assert.equal(second.record.id, auth.record.id);
    const sessions = await getJson(srv.url + '/api/sessions', { headers: { Authorization: second.token } });
    assert.ok(sessions.body.items.some((s) => s.method === 'oauth2'));
  });

  test('an existing account with the verified email is linked, not duplicated', async () => {
    const existing = await su.collection('users').create({ email: 'bob@example.com', password: 'secret-pass-1', passwordConfirm: 'secret-pass-1' });
    const { provider, code } = await flow('bob');
    const auth = await client().collection('users').authWithOAuth2Code('oidc', code, provider.codeVerifier, REDIRECT);
    assert.equal(auth.record.id, existing.id);
    assert.equal(auth.meta.isNew, false);
    // An unverified provider email does not take over an account.
    await su.collection('users').create({ email: 'existing@example.com', password: 'secret-pass-1', passwordConfirm: 'secret-pass-1' });
    const m = await flow('mallory');
    await assert.rejects(client().collection('users').authWithOAuth2Code('oidc', m.code, m.provider.codeVerifier, REDIRECT), (e) => e.status === 403);
  });

  test('a bad code, a wrong verifier or an unknown provider fail cleanly', async () => {
    const { provider, code } = await flow('alice');
    await assert.rejects(client().collection('users').authWithOAuth2Code('oidc', code, 'not-the-verifier-'.repeat(3), REDIRECT), (e) => e.status === 400);
    await assert.rejects(client().collection('users').authWithOAuth2Code('oidc', code, provider.codeVerifier, REDIRECT), (e) => e.status === 400, 'codes are single use');
    await assert.rejects(client().collection('users').authWithOAuth2Code('github', 'x', 'y', REDIRECT), (e) => e.status === 400);
    const other = await flow('alice');
    await assert.rejects(client().collection('users').authWithOAuth2Code('oidc', other.code, other.provider.codeVerifier, 'http://evil.example/cb'), (e) => e.status === 400);
  });

  test('no new accounts when the create rule is null', async () => {
    await su.collections.update('users', { createRule: null });
    const idp2 = idp; // a user the provider knows but basalt does not
    const { provider, code } = await flow('bob');
    const linked = await client().collection('users').authWithOAuth2Code('oidc', code, provider.codeVerifier, REDIRECT);
    assert.equal(linked.meta.isNew, false, 'linked accounts still sign in');
    assert.ok(idp2);
    await su.collection('users').delete((await su.collection('users').getFirstListItem('email = "alice@example.com"')).id);
    const a = await flow('alice');
    await assert.rejects(client().collection('users').authWithOAuth2Code('oidc', a.code, a.provider.codeVerifier, REDIRECT), (e) => e.status === 403);
    await su.collections.update('users', { createRule: '' });
  });
});
