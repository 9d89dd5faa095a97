// A small OpenID Connect provider for the tests: /authorize issues a one-time code for the user named
// by `login` and redirects; /token checks the client, the code, the redirect URI and the PKCE
// verifier (S256) before issuing an access token; /userinfo answers for a valid access token.
import crypto from 'node:crypto';
import http from 'node:http';

export async function startOidcProvider({ clientId, clientSecret, users }) {
  const codes = new Map();
  const tokens = new Map();
  const calls = { token: 0, userinfo: 0 };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const json = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const user = users[url.searchParams.get('login')];
      if (url.searchParams.get('client_id') !== clientId || !user || url.searchParams.get('response_type') !== 'code') {
        return json(400, { error: 'invalid_request' });
      }
      const code = crypto.randomBytes(16).toString('hex');
      codes.set(code, {
        user,
        redirect: url.searchParams.get('redirect_uri'),
        challenge: url.searchParams.get('code_challenge'),
      });
      const to = new URL(url.searchParams.get('redirect_uri'));
      to.searchParams.set('code', code);
      to.searchParams.set('state', url.searchParams.get('state'));
      res.writeHead(302, { Location: to.toString() });
      return res.end();
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        calls.token++;
        const f = new URLSearchParams(body);
        const grant = codes.get(f.get('code'));
        codes.delete(f.get('code')); // one use
        const verifier = f.get('code_verifier') || '';
        const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
        if (f.get('client_id') !== clientId || f.get('client_secret') !== clientSecret) return json(401, { error: 'invalid_client' });
        if (!grant || grant.redirect !== f.get('redirect_uri') || grant.challenge !== challenge) return json(400, { error: 'invalid_grant' });
        const token = crypto.randomBytes(16).toString('hex');
        tokens.set(token, grant.user);
        json(200, { access_token: token, token_type: 'Bearer', expires_in: 3600, refresh_token: 'r-' + token });
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/userinfo') {
      calls.userinfo++;
      const user = tokens.get((req.headers.authorization || '').replace(/^Bearer /, ''));
      return user ? json(200, user) : json(401, { error: 'invalid_token' });
    }
    json(404, { error: 'not_found' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    calls,
    /** Plays the browser: follows authURL for `login` and returns the code from the redirect. */
    async authorize(authURL, redirect, login) {
      const res = await fetch(authURL + encodeURIComponent(redirect) + '&login=' + encodeURIComponent(login), { redirect: 'manual' });
      if (res.status !== 302) throw new Error('authorize failed: ' + res.status + ' ' + (await res.text()));
      const loc = new URL(res.headers.get('location'));
      return { code: loc.searchParams.get('code'), state: loc.searchParams.get('state') };
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
