// /_/ (the admin dashboard's files, from a directory given with --admin-dir) and the one-time
// install link: caching, ETags, the dashboard's routes, missing files, and the install token.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getJson, parseResponses, raw, startServer, tempDir } from './helpers.mjs';

function fakeDashboard() {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>dash</title><script src="/_/assets/app-1.js"></script>');
  writeFileSync(path.join(dir, 'assets', 'app-1.js'), 'console.log("hi")');
  return dir;
}

const install = (srv, body) =>
  getJson(`${srv.url}/api/install`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('admin dashboard files and install link', () => {
  test('files with caching and ETags; dashboard routes get index.html; missing files 404', async () => {
    const srv = await startServer({ args: ['--admin-dir', fakeDashboard()] });
    try {
      const index = await fetch(`${srv.url}/_/`);
      assert.equal(index.status, 200);
      assert.match(index.headers.get('content-type'), /^text\/html/);
      assert.equal(index.headers.get('cache-control'), 'no-cache');
      assert.match(await index.text(), /<title>dash<\/title>/);
      const route = await fetch(`${srv.url}/_/collections/posts`);
      assert.equal(route.status, 200, 'a dashboard route answers index.html');
      const js = await fetch(`${srv.url}/_/assets/app-1.js`);
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type'), /^text\/javascript/);
      assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const etag = js.headers.get('etag');
      assert.ok(etag);
      const again = await fetch(`${srv.url}/_/assets/app-1.js`, { headers: { 'If-None-Match': etag } });
      assert.equal(again.status, 304);
      assert.equal((await fetch(`${srv.url}/_/assets/missing.js`)).status, 404);
      // Only files read from the dashboard's directory are served: no path leads outside it.
      for (const target of ['/_/../data.db', '/_/%2e%2e/data.db', '/_/assets/../../data.db', '/_/..%2fdata.db']) {
        const [res] = parseResponses((await raw(srv.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).data);
        assert.equal(res.status, 404, target);
        assert.equal(res.body.includes('SQLite format'), false, target);
      }
    } finally {
      await srv.stop();
    }
  });

  test('without a built dashboard /_/ says how to build it', async () => {
    const srv = await startServer({ args: ['--admin-dir', tempDir()] });
    try {
      const r = await fetch(`${srv.url}/_/`);
      assert.equal(r.status, 503);
      assert.match(await r.text(), /make ui/);
    } finally {
      await srv.stop();
    }
  });

  test('the install link creates the first superuser once; a form mistake does not burn it', async () => {
    const srv = await startServer({ args: ['--admin-dir', fakeDashboard()] });
    try {
      const link = srv.stderr().match(/\/_\/#\/install\/([A-Za-z0-9]{40})/);
      assert.ok(link, 'serve prints the link while no superuser exists');
      const token = link[1];
      assert.equal((await install(srv, { token: 'x'.repeat(40), email: 'a@example.com', password: 'password-123', passwordConfirm: 'password-123' })).status, 400);
      const mismatch = await install(srv, { token, email: 'a@example.com', password: 'password-123', passwordConfirm: 'other' });
      assert.equal(mismatch.body.data.passwordConfirm.code, 'validation_values_mismatch');
      const short = await install(srv, { token, email: 'a@example.com', password: 'short', passwordConfirm: 'short' });
      assert.equal(short.status, 400);
      assert.ok(short.body.data.password);
      assert.equal((await install(srv, { token, email: 'a@example.com', password: 'password-123', passwordConfirm: 'password-123' })).status, 204);
      const used = await install(srv, { token, email: 'b@example.com', password: 'password-123', passwordConfirm: 'password-123' });
      assert.equal(used.status, 400, 'once');
      const auth = await getJson(`${srv.url}/api/collections/_superusers/auth-with-password`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ identity: 'a@example.com', password: 'password-123' }),
      });
      assert.equal(auth.status, 200);
    } finally {
      await srv.stop();
    }
  });

  test('no link once a superuser exists', async () => {
    const srv = await startServer({ superuser: { email: 'root@example.com', password: 'root-password-1' }, args: ['--admin-dir', fakeDashboard()] });
    try {
      assert.equal(/install\//.test(srv.stderr()), false);
      assert.equal((await install(srv, { token: 'anything', email: 'a@example.com', password: 'password-123', passwordConfirm: 'password-123' })).status, 400);
    } finally {
      await srv.stop();
    }
  });
});
