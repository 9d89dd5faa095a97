// Request and app logs (PocketBase's logs API through the SDK): what a request leaves in the log,
// the list with filters over data.*, one entry, the hourly stats, settings.logs (logIP, logAuthId,
// minLevel, maxDays), app messages (a failed job), and hostile input (invalid UTF-8, long headers).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, raw, sleep, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

// Entries reach the store in batches (about once a second): wait for the ones a test expects.
async function waitForLogs(su, filter, min = 1, ms = 8000) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await su.logs.getList(1, 100, { filter, sort: '-@rowid' });
    if (r.items.length >= min) return r.items;
    if (Date.now() > end) assert.fail(`no ${min} log entries matching ${filter} after ${ms} ms (got ${r.items.length})`);
    await sleep(100);
  }
}

describe('logs', () => {
  let srv;
  let su;
  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({
      name: 'notes',
      listRule: '',
      viewRule: '',
      createRule: '',
      fields: [{ name: 'title', type: 'text', required: true }],
    });
  });
  after(async () => srv && (await srv.stop()));

  test('only superusers read logs (401 for guests, 403 for users)', async () => {
    for (const path of ['/api/logs', '/api/logs/stats', '/api/logs/abc']) {
      const guest = await getJson(srv.url + path);
      assert.equal(guest.status, 401, path);
      assert.deepEqual(guest.body.data, {});
    }
    await su.collection('users').create({ email: 'u@example.com', password: 'user-password-1', passwordConfirm: 'user-password-1' });
    const user = new PocketBase(srv.url);
    await user.collection('users').authWithPassword('u@example.com', 'user-password-1');
    const r = await getJson(srv.url + '/api/logs', { headers: { Authorization: user.authStore.token } });
    assert.equal(r.status, 403);
  });

  test('a request leaves an entry in PocketBase shape; a failure keeps its error and details', async () => {
    const ok = await getJson(`${srv.url}/api/collections/notes/records?marker=ok-1`, { headers: { 'User-Agent': 'logs-test/1', Referer: 'http://example.test/page' } });
    assert.equal(ok.status, 200);
    const bad = await getJson(`${srv.url}/api/collections/notes/records?marker=bad-1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: '' }),
    });
    assert.equal(bad.status, 400);

    const [okEntry] = await waitForLogs(su, 'data.url ~ "marker=ok-1"');
    assert.match(okEntry.id, /^[a-z0-9]{15}$/);
    assert.match(okEntry.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(okEntry.level, 0);
    assert.equal(okEntry.message, 'GET /api/collections/notes/records?marker=ok-1');
    assert.equal(okEntry.data.type, 'request');
    assert.equal(okEntry.data.method, 'GET');
    assert.equal(okEntry.data.status, 200);
    assert.equal(okEntry.data.url, '/api/collections/notes/records?marker=ok-1');
    assert.equal(okEntry.data.userAgent, 'logs-test/1');
    assert.equal(okEntry.data.referer, 'http://example.test/page');
    assert.equal(okEntry.data.auth, '');
    assert.equal(okEntry.data.userIP, '127.0.0.1');
    assert.equal(okEntry.data.remoteIP, '127.0.0.1');
    assert.equal(typeof okEntry.data.execTime, 'number');
    assert.equal(okEntry.data.error, undefined);

    const [badEntry] = await waitForLogs(su, 'data.url ~ "marker=bad-1"');
    assert.equal(badEntry.level, 8);
    assert.equal(badEntry.data.status, 400);
    assert.equal(badEntry.data.method, 'POST');
    assert.equal(badEntry.data.error, 'Failed to create record.');
    assert.equal(badEntry.data.details.title.code, 'validation_required');

    // One entry by id, and a missing one.
    const one = await su.logs.getOne(badEntry.id);
    assert.deepEqual(one, badEntry);
    await assert.rejects(su.logs.getOne('missing0000000x'), (e) => e.status === 404);
  });

  test('filters over data.* and level, sorting, paging and skipTotal; bad filters are 400', async () => {
    for (let i = 0; i < 5; i++) await getJson(`${srv.url}/api/collections/notes/records?marker=page-${i}`);
    await waitForLogs(su, 'data.url ~ "marker=page-"', 5);
    const page = await su.logs.getList(1, 2, { filter: 'data.url ~ "marker=page-" && level = 0 && data.status = 200', sort: '-@rowid' });
    assert.equal(page.totalItems, 5);
    assert.equal(page.totalPages, 3);
    assert.equal(page.items.length, 2);
    assert.match(page.items[0].data.url, /marker=page-4$/);
    const asc = await su.logs.getList(1, 5, { filter: 'data.url ~ "marker=page-"', sort: 'created,@rowid' });
    assert.deepEqual(asc.items.map((e) => e.data.url.slice(-1)), ['0', '1', '2', '3', '4']);
    const skipped = await getJson(`${srv.url}/api/logs?skipTotal=1&filter=${encodeURIComponent('data.url ~ "marker=page-"')}`, { headers: { Authorization: su.authStore.token } });
    assert.equal(skipped.body.totalItems, -1);
    assert.equal(skipped.body.items.length, 5);
    for (const filter of ['data.status >', 'nope = 1', 'data.sta tus = 1']) {
      const r = await getJson(`${srv.url}/api/logs?filter=${encodeURIComponent(filter)}`, { headers: { Authorization: su.authStore.token } });
      assert.equal(r.status, 400, filter);
    }
    const stats = await getJson(`${srv.url}/api/logs/stats?filter=${encodeURIComponent('nope = 1')}`, { headers: { Authorization: su.authStore.token } });
    assert.equal(stats.status, 400);
  });

  test('stats count entries per hour, filterable', async () => {
    for (let i = 0; i < 3; i++) await getJson(`${srv.url}/api/collections/notes/records?marker=stats-${i}`);
    await waitForLogs(su, 'data.url ~ "marker=stats-"', 3);
    const all = await su.logs.getStats();
    assert.ok(all.length >= 1);
    for (const s of all) {
      assert.match(s.date, /^\d{4}-\d\d-\d\d \d\d:00:00\.000Z$/);
      assert.ok(Number.isInteger(s.total) && s.total > 0);
    }
    const some = await su.logs.getStats({ filter: 'data.url ~ "marker=stats-"' });
    assert.equal(some.reduce((n, s) => n + s.total, 0), 3);
  });

  test('successful calls of the logs API are not logged; failed ones are', async () => {
    await su.logs.getList(1, 1, { filter: 'data.url ~ "marker=self"' });
    await getJson(`${srv.url}/api/logs?marker=self-fail`);  // a guest: 401
    await waitForLogs(su, 'data.url ~ "marker=self-fail"');
    const self = await su.logs.getList(1, 10, { filter: 'data.url ~ "/api/logs" && data.status = 200' });
    assert.equal(self.totalItems, 0);
  });

  test('settings.logs: logIP, logAuthId, minLevel and maxDays decide what is kept', async () => {
    await su.settings.update({ logs: { logIP: false, logAuthId: true } });
    await getJson(`${srv.url}/api/collections/notes/records?marker=settings-1`, { headers: { Authorization: su.authStore.token } });
    const [e] = await waitForLogs(su, 'data.url ~ "marker=settings-1"');
    assert.equal(e.data.auth, '_superusers');
    assert.equal(e.data.authId, su.authStore.record.id);
    assert.equal(e.data.userIP, undefined);
    assert.equal(e.data.remoteIP, undefined);

    // minLevel 5: only errors (8) are kept from now on, and kept entries below it are deleted.
    await su.settings.update({ logs: { minLevel: 5 } });
    const below = await su.logs.getList(1, 1, { filter: 'level < 5' });
    assert.equal(below.totalItems, 0);
    await getJson(`${srv.url}/api/collections/notes/records?marker=settings-info`);
    await getJson(`${srv.url}/api/collections/notes/records/missing?marker=settings-error`);
    await waitForLogs(su, 'data.url ~ "marker=settings-error"');
    assert.equal((await su.logs.getList(1, 1, { filter: 'data.url ~ "marker=settings-info"' })).totalItems, 0);

    // A debug level (-4) is a valid minLevel; a negative maxDays is not.
    await su.settings.update({ logs: { minLevel: -4 } });
    await assert.rejects(su.settings.update({ logs: { maxDays: -1 } }), (err) => err.status === 400);

    // maxDays 0: nothing is logged and what was kept is gone.
    await su.settings.update({ logs: { maxDays: 0 } });
    assert.equal((await su.logs.getList(1, 1)).totalItems, 0);
    await getJson(`${srv.url}/api/collections/notes/records/missing?marker=settings-off`);
    await sleep(1500);
    assert.equal((await su.logs.getList(1, 1, { filter: 'data.url ~ "marker=settings-off"' })).totalItems, 0);
    await su.settings.update({ logs: { maxDays: 5, minLevel: 0, logIP: true, logAuthId: false } });
  });

  test('app messages: a job that fails for good is an error entry', async () => {
    const r = await getJson(`${srv.url}/api/jobs`, {
      method: 'POST',
      headers: { Authorization: su.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'mail.send', payload: { nothing: true }, maxAttempts: 1 }),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const [e] = await waitForLogs(su, `message = "job failed for good" && data.job = "${r.body.id}"`);
    assert.equal(e.level, 8);
    assert.equal(e.data.kind, 'mail.send');
    assert.ok(e.data.error.length > 0);
  });

  test('hostile input is stored cut and valid: invalid UTF-8, long headers, NUL escapes', async () => {
    const longUa = 'A'.repeat(10000);
    // Bytes as written (latin1): 0xFF 0xFE in the Referer are not UTF-8.
    const r = await raw(srv.port, [
      Buffer.from(`GET /api/collections/notes/records?marker=hostile-%FF%FE%00x HTTP/1.1\r\nHost: x\r\nUser-Agent: ${longUa}\r\nReferer: http://r/\xff\xfe\r\nConnection: close\r\n\r\n`, 'latin1'),
    ]);
    assert.match(r.data, /^HTTP\/1\.1 200/);
    const [e] = await waitForLogs(su, 'data.url ~ "marker=hostile-"');
    assert.equal(e.data.userAgent, 'A'.repeat(2000) + '...');
    assert.equal(e.data.url, '/api/collections/notes/records?marker=hostile-%FF%FE%00x');
    assert.ok(!e.message.includes('\u0000'));
    assert.ok(e.message.startsWith('GET /api/collections/notes/records?marker=hostile-\ufffd\ufffd\ufffdx'), e.message);
    assert.ok(!e.data.referer.includes('\xff'));
    const longUrl = `${srv.url}/api/collections/notes/records?marker=longurl-${'b'.repeat(5000)}`;
    await getJson(longUrl);
    const [l] = await waitForLogs(su, 'data.url ~ "marker=longurl-"');
    assert.equal(l.data.url.length, 3003);
    assert.ok(l.data.url.endsWith('...'));
  });
});
