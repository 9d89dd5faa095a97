// The Backups page in Debian's headless Chromium (playwright-core) against the real basalt binary:
// the empty state; new backups (a bad name caught in the page, a taken name refused by the server,
// named and unnamed, the busy indicator, another backup already running); an upload with its
// progress (a zip the server made, under a new name) and a refused non-zip; a download link; delete
// and restore asked in the page (cancelled and confirmed); a restore that brings the data back after
// the server restarts, and one of a broken archive showing the server's reason; the scheduled
// backups form saved (with a local S3 bucket) and read back after a reload. The page's pure helpers
// (web/admin/src/backups.js) are tested here too, without a browser. Each failure leaves a screenshot
// in tests/e2e/artifacts/; SCREENSHOTS=docs/admin refreshes the tour's picture of the page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { getJson, startServer } from '../api/helpers.mjs';
import { makeZip } from '../api/zip.mjs';
import { ACCESS_KEY, SECRET, startS3 } from '../api/s3_server.mjs';
import {
  formatElapsed,
  formatModified,
  formatSize,
  normalizeSchedule,
  scheduleOf,
  sortBackups,
  validateBackupName,
  validateSchedule,
  waitUntil,
} from '../../web/admin/src/backups.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const tour = process.env.SCREENSHOTS ? path.resolve(here, '../..', process.env.SCREENSHOTS) : null;
const SU = { email: 'backups@example.com', password: 'backups-password-1' };

describe('pure helpers of the backups page', () => {
  test('backup names are checked as the server checks them', () => {
    for (const ok of ['', 'a.zip', 'nightly_1.zip', 'pb_backup_basalt_20261203135924.zip', '-_-.zip', 'x'.repeat(146) + '.zip']) {
      assert.equal(validateBackupName(ok), '', ok);
    }
    for (const bad of ['.zip', 'Bad.zip', 'a b.zip', 'a.ZIP', 'a.tar.gz', 'a', '../a.zip', 'a/b.zip', 'é.zip', 'a.zip ', 'x'.repeat(147) + '.zip']) {
      assert.notEqual(validateBackupName(bad), '', bad);
    }
    assert.match(validateBackupName('x'.repeat(147) + '.zip'), /150/);
  });

  test('sizes, dates and the order of the list', () => {
    assert.equal(formatSize(0), '0 B');
    assert.equal(formatSize(1023), '1023 B');
    assert.equal(formatSize(1024), '1 KB');
    assert.equal(formatSize(12476), '12.2 KB');
    assert.equal(formatSize(1024 * 1024 - 1), '1 MB');
    assert.equal(formatSize(3 * 1024 * 1024), '3 MB');
    assert.equal(formatSize(1.5 * 1024 ** 3), '1.5 GB');
    assert.equal(formatSize(-1), '');
    assert.equal(formatModified('2026-12-03 13:59:25.010Z'), '2026-12-03 13:59:25 UTC');
    assert.equal(formatModified('yesterday'), 'yesterday');
    assert.equal(formatElapsed(0), '0:00');
    assert.equal(formatElapsed(65_900), '1:05');
    const list = [
      { key: 'b.zip', modified: '2026-12-01 10:00:00.000Z' },
      { key: 'c.zip', modified: '2026-12-03 09:00:00.000Z' },
      { key: 'a.zip', modified: '2026-12-01 10:00:00.000Z' },
    ];
    assert.deepEqual(sortBackups(list).map((b) => b.key), ['c.zip', 'a.zip', 'b.zip']);
    assert.deepEqual(list[0].key, 'b.zip', 'the list given is left as it is');
    assert.deepEqual(sortBackups(null), []);
  });

  test('the scheduled backups settings: defaults, checks, what is sent', () => {
    const b = scheduleOf({});
    assert.deepEqual(b, { cron: '', cronMaxKeep: 3, s3: { enabled: false, bucket: '', region: '', endpoint: '', accessKey: '', secret: '', forcePathStyle: false } });
    assert.deepEqual(validateSchedule(b), {});
    assert.deepEqual(Object.keys(validateSchedule({ ...b, cronMaxKeep: 0 })), ['backups.cronMaxKeep']);
    assert.deepEqual(Object.keys(validateSchedule({ ...b, cronMaxKeep: 1.5 })), ['backups.cronMaxKeep']);
    assert.deepEqual(Object.keys(validateSchedule({ ...b, cronMaxKeep: null })), ['backups.cronMaxKeep']);
    const s3 = { ...b.s3, enabled: true, bucket: ' ', endpoint: 'not a url' };
    assert.deepEqual(Object.keys(validateSchedule({ ...b, s3 })).sort(), ['backups.s3.accessKey', 'backups.s3.bucket', 'backups.s3.endpoint', 'backups.s3.region']);
    const full = { cron: ' 0 3 * * * ', cronMaxKeep: 2, s3: { enabled: true, bucket: 'b ', region: 'r', endpoint: 'https://s3.example.com', accessKey: 'k', secret: '', forcePathStyle: true } };
    assert.deepEqual(validateSchedule(full), {});
    assert.deepEqual(normalizeSchedule(full), {
      cron: '0 3 * * *',
      cronMaxKeep: 2,
      s3: { enabled: true, bucket: 'b', region: 'r', endpoint: 'https://s3.example.com', accessKey: 'k', forcePathStyle: true },
    });
    assert.equal(normalizeSchedule({ ...full, s3: { ...full.s3, secret: ' s ' } }).s3.secret, ' s ', 'a secret is sent as typed');
  });

  test('waitUntil polls until the check answers, and gives up after its timeout', async () => {
    let t = 0;
    const clock = { sleep: async (ms) => void (t += ms), now: () => t };
    let calls = 0;
    await waitUntil(
      async () => {
        calls++;
        if (calls < 3) throw new Error('connection refused');
        return calls >= 4;
      },
      { interval: 100, timeout: 10_000, ...clock },
    );
    assert.equal(calls, 4);
    t = 0;
    await assert.rejects(waitUntil(async () => false, { interval: 100, timeout: 1000, ...clock }), /did not come back/);
  });
});

describe('backups in the dashboard', () => {
  let srv;
  let browser;
  let page;
  let token;
  const consoleErrors = [];
  const api = (p, opts = {}) => getJson(srv.url + p, { ...opts, headers: { Authorization: token, 'Content-Type': 'application/json', ...(opts.headers || {}) } });
  const keys = async () => (await api('/api/backups')).body.map((b) => b.key).sort();
  const download = async (key) => {
    const t = (await api('/api/files/token', { method: 'POST' })).body.token;
    const res = await fetch(`${srv.url}/api/backups/${key}?token=${t}`);
    assert.equal(res.status, 200);
    return Buffer.from(await res.arrayBuffer());
  };
  const uploadByApi = async (name, bytes) => {
    const form = new FormData();
    form.append('file', new File([bytes], name, { type: 'application/zip' }));
    const res = await fetch(srv.url + '/api/backups/upload', { method: 'POST', headers: { Authorization: token }, body: form });
    assert.equal(res.status, 204, await res.text());
  };

  before(async () => {
    srv = await startServer({ superuser: SU });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      // The browser reports every 4xx answer and every refused connection (the restart); the tests cause some on purpose.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e) + (process.env.STACKS ? e.stack : '')));
    // The page asks in the page, never with window.confirm: a native dialog here is a bug.
    page.on('dialog', (d) => {
      consoleErrors.push('unexpected dialog: ' + d.message());
      d.dismiss();
    });
    mkdirSync(artifacts, { recursive: true });
    if (tour) mkdirSync(tour, { recursive: true });
    await page.goto(srv.url + '/_/');
    await page.getByLabel('Email').fill(SU.email);
    await page.getByLabel('Password').fill(SU.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Backups' }).waitFor();
    token = await page.evaluate(() => JSON.parse(localStorage.getItem('basalt_admin_auth')).token);
  });

  after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.stop();
  });

  async function step(name, fn) {
    try {
      await fn();
    } catch (e) {
      await page.screenshot({ path: path.join(artifacts, 'backups-' + name.replace(/\W+/g, '-') + '.png'), fullPage: true }).catch(() => {});
      throw e;
    }
  }
  const newForm = () => page.getByRole('form', { name: 'New backup' });
  const uploadForm = () => page.getByRole('form', { name: 'Upload a backup' });
  const schedule = () => page.getByRole('form', { name: 'Scheduled backups' });
  const row = (key) => page.locator(`tr[data-backup="${key}"]`);
  const pageStatus = (text) => page.locator('.backups').getByRole('status').filter({ hasText: text });
  // The list, once loaded: its table or its empty state.
  const listLoaded = () => page.locator('.backups').locator('table.backups-list, .empty').first();
  // Opens the page afresh and waits for the list (a row, or the empty state) to be there.
  const openBackups = async (waitFor) => {
    await page.goto(srv.url + '/_/#/backups');
    await page.reload();
    await newForm().waitFor();
    await (typeof waitFor === 'string' ? row(waitFor) : waitFor()).waitFor();
  };

  test('the sidebar leads to the page; with no backups it says so', async () => {
    await step('empty', async () => {
      await page.getByRole('link', { name: 'Backups' }).click();
      await page.getByText('No backups yet.').waitFor();
      assert.equal(await page.getByRole('link', { name: 'Backups' }).getAttribute('class'), 'active');
      await openBackups(() => page.getByText('No backups yet.'));
      assert.equal(await page.getByRole('table', { name: 'Backups' }).count(), 0);
    });
  });

  test('new backups: a bad name, a taken name, named and unnamed, listed newest first with sizes', async () => {
    await step('bad name', async () => {
      await newForm().getByLabel('Name (optional)').fill('Nightly 1.zip');
      await newForm().getByRole('button', { name: 'New backup' }).click();
      await newForm().locator('.error', { hasText: 'lowercase' }).waitFor();
      assert.equal(await newForm().getByLabel('Name (optional)').getAttribute('aria-invalid'), 'true');
      assert.deepEqual(await keys(), [], 'nothing was sent');
    });

    await step('named', async () => {
      await newForm().getByLabel('Name (optional)').fill('nightly_1.zip');
      await newForm().getByRole('button', { name: 'New backup' }).click();
      await pageStatus('Created nightly_1.zip.').waitFor();
      await row('nightly_1.zip').waitFor();
      assert.equal(await newForm().getByLabel('Name (optional)').inputValue(), '', 'the name is cleared');
      const size = (await api('/api/backups')).body.find((b) => b.key === 'nightly_1.zip').size;
      assert.equal(await row('nightly_1.zip').locator('td').nth(1).innerText(), formatSize(size));
      assert.match(await row('nightly_1.zip').locator('td').nth(1).innerText(), /^\d+(\.\d)? KB$/);
      assert.match(await row('nightly_1.zip').locator('td').nth(2).innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    });

    await step('a taken name: the server error under the field', async () => {
      await newForm().getByLabel('Name (optional)').fill('nightly_1.zip');
      await newForm().getByRole('button', { name: 'New backup' }).click();
      await newForm().locator('.error').waitFor();
      assert.match(await newForm().locator('.error').innerText(), /exists/i);
    });

    await step('unnamed, with the busy indicator while it runs', async () => {
      // The request is held until the indicator was seen, so the test does not race the backup.
      let release;
      const held = new Promise((r) => (release = r));
      let seen;
      const reached = new Promise((r) => (seen = r));
      await page.route('**/api/backups', async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        seen();
        await held;
        await route.continue();
      });
      await newForm().getByLabel('Name (optional)').fill('');
      await newForm().getByRole('button', { name: 'New backup' }).click();
      await reached;
      await newForm().getByRole('status').filter({ hasText: /Making the backup… \d+:\d\d/ }).waitFor();
      assert.ok(await newForm().getByRole('button', { name: 'New backup' }).isDisabled());
      release();
      await pageStatus('Backup created.').waitFor();
      await page.unroute('**/api/backups');
      assert.ok(await newForm().getByRole('button', { name: 'New backup' }).isEnabled());
      const list = (await api('/api/backups')).body;
      assert.equal(list.length, 2);
      const made = list.find((b) => b.key !== 'nightly_1.zip');
      assert.match(made.key, /^pb_backup_basalt_\d{14}\.zip$/);
      await row(made.key).waitFor();
      const shown = await page.locator('tr[data-backup]').evaluateAll((rows) => rows.map((r) => r.dataset.backup));
      assert.deepEqual(shown, sortBackups(list).map((b) => b.key), 'newest first');
    });

    await step('another backup already running: the server says so', async () => {
      // Holding the backups lock is what a running `basalt backup create` does.
      const locker = spawn(
        'python3',
        ['-c', 'import fcntl,sys; f=open(sys.argv[1],"a"); fcntl.flock(f, fcntl.LOCK_EX|fcntl.LOCK_NB); print("locked", flush=True); sys.stdin.read()', path.join(srv.dir, 'backups', '.lock')],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      try {
        await new Promise((resolve, reject) => {
          locker.stdout.on('data', (d) => String(d).includes('locked') && resolve());
          locker.on('exit', (code) => reject(new Error('the lock holder exited with ' + code)));
        });
        await newForm().getByLabel('Name (optional)').fill('blocked.zip');
        await newForm().getByRole('button', { name: 'New backup' }).click();
        await newForm().getByRole('alert').filter({ hasText: 'another backup/restore process has already been started' }).waitFor();
      } finally {
        locker.stdin.end();
        if (locker.exitCode === null) await new Promise((r) => locker.on('exit', r));
      }
      assert.ok(!(await keys()).includes('blocked.zip'));
    });
  });

  test('upload: a zip under a new name with its progress, and a non-zip refused', async () => {
    const bytes = await download('nightly_1.zip');
    await step('open', () => openBackups('nightly_1.zip'));

    await step('a zip', async () => {
      let release;
      const held = new Promise((r) => (release = r));
      await page.route('**/api/backups/upload', async (route) => {
        await held;
        await route.continue();
      });
      await uploadForm().getByLabel('Backup file (.zip)').setInputFiles({ name: 'copy_1.zip', mimeType: 'application/zip', buffer: bytes });
      await uploadForm().getByRole('button', { name: 'Upload' }).click();
      await uploadForm().getByRole('progressbar', { name: 'Upload progress' }).waitFor();
      assert.ok(await uploadForm().getByRole('button', { name: 'Upload' }).isDisabled());
      release();
      await pageStatus('Uploaded copy_1.zip.').waitFor();
      await page.unroute('**/api/backups/upload');
      await row('copy_1.zip').waitFor();
      assert.equal((await api('/api/backups')).body.find((b) => b.key === 'copy_1.zip').size, bytes.length);
      assert.deepEqual(await download('copy_1.zip'), bytes);
    });

    await step('a non-zip', async () => {
      await uploadForm().getByLabel('Backup file (.zip)').setInputFiles({ name: 'notes.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') });
      await uploadForm().getByRole('button', { name: 'Upload' }).click();
      await uploadForm().locator('.error').waitFor();
      assert.match(await uploadForm().locator('.error').innerText(), /zip|type|format/i);
      assert.ok(!(await keys()).includes('notes.zip'));
    });
  });

  test('download: the link gives the zip', async () => {
    await step('download', async () => {
      await openBackups('nightly_1.zip');
      const link = row('nightly_1.zip').getByRole('link', { name: 'Download nightly_1.zip' });
      const href = await link.getAttribute('href');
      assert.match(href, /\/api\/backups\/nightly_1\.zip\?token=/);
      const res = await fetch(new URL(href, srv.url));
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(body.subarray(0, 2).toString('latin1'), 'PK');
      assert.deepEqual(body, await download('nightly_1.zip'));
    });
  });

  test('delete: asked in the page, cancelled, then confirmed', async () => {
    await step('delete', async () => {
      await openBackups('copy_1.zip');
      await row('copy_1.zip').getByRole('button', { name: 'Delete copy_1.zip' }).click();
      const question = page.getByRole('alertdialog', { name: 'Delete copy_1.zip?' });
      await question.waitFor();
      await question.getByRole('button', { name: 'Cancel' }).click();
      await question.waitFor({ state: 'detached' });
      assert.ok((await keys()).includes('copy_1.zip'), 'cancel keeps it');
      await row('copy_1.zip').getByRole('button', { name: 'Delete copy_1.zip' }).click();
      await question.getByRole('button', { name: 'Delete backup' }).click();
      await pageStatus('Deleted copy_1.zip.').waitFor();
      await row('copy_1.zip').waitFor({ state: 'detached' });
      assert.ok(!(await keys()).includes('copy_1.zip'));
    });
  });

  test('restore: the data comes back after the server restarts', async () => {
    const titles = async () => (await api('/api/collections/notes/records?sort=title')).body.items.map((r) => r.title);
    await step('data and a backup of it', async () => {
      const c = await api('/api/collections', { method: 'POST', body: JSON.stringify({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }] }) });
      assert.equal(c.status, 200, JSON.stringify(c.body));
      for (const title of ['alpha', 'beta']) {
        assert.equal((await api('/api/collections/notes/records', { method: 'POST', body: JSON.stringify({ title }) })).status, 200);
      }
      assert.equal((await api('/api/backups', { method: 'POST', body: JSON.stringify({ name: 'before.zip' }) })).status, 204);
      const alpha = (await api('/api/collections/notes/records?filter=' + encodeURIComponent('title="alpha"'))).body.items[0];
      assert.equal((await api('/api/collections/notes/records/' + alpha.id, { method: 'DELETE' })).status, 204);
      assert.equal((await api('/api/collections/notes/records', { method: 'POST', body: JSON.stringify({ title: 'gamma' }) })).status, 200);
      assert.deepEqual(await titles(), ['beta', 'gamma']);
    });

    await step('asked, cancelled', async () => {
      await openBackups('before.zip');
      await row('before.zip').getByRole('button', { name: 'Restore before.zip' }).click();
      const question = page.getByRole('alertdialog', { name: 'Restore before.zip?' });
      await question.waitFor();
      const text = await question.innerText();
      assert.match(text, /replaced/);
      assert.match(text, /restarts/);
      assert.match(text, /realtime/);
      if (tour) await page.locator('main').screenshot({ path: path.join(tour, 'backups.png') });
      await question.getByRole('button', { name: 'Cancel' }).click();
      await question.waitFor({ state: 'detached' });
      assert.deepEqual(await titles(), ['beta', 'gamma'], 'nothing restored');
    });

    await step('confirmed', async () => {
      await row('before.zip').getByRole('button', { name: 'Restore before.zip' }).click();
      await page.getByRole('alertdialog', { name: 'Restore before.zip?' }).getByRole('button', { name: 'Restore backup' }).click();
      await pageStatus('Restored before.zip.').waitFor({ timeout: 60_000 });
      assert.match(srv.stderr(), /Server restarted on the restored data/);
      assert.deepEqual(await titles(), ['alpha', 'beta']);
      await row('before.zip').waitFor();
      assert.equal(await page.locator('.backups').getByRole('alert').count(), 0);
    });
  });

  test('restore of a broken archive: the reason is shown and nothing changes', async () => {
    await step('broken', async () => {
      await uploadByApi('broken.zip', makeZip([{ name: 'data.db', data: Buffer.from('this is not a database. '.repeat(200)) }]));
      await openBackups('broken.zip');
      await row('broken.zip').getByRole('button', { name: 'Restore broken.zip' }).click();
      await page.getByRole('alertdialog', { name: 'Restore broken.zip?' }).getByRole('button', { name: 'Restore backup' }).click();
      const alert = page.locator('.backups').getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /^The backup cannot be restored: \S/);
      assert.equal(await page.locator('.backups').getByRole('status').filter({ hasText: 'Restored' }).count(), 0);
      assert.deepEqual((await api('/api/collections/notes/records?sort=title')).body.items.map((r) => r.title), ['alpha', 'beta']);
      assert.ok(await row('broken.zip').getByRole('button', { name: 'Restore broken.zip' }).isEnabled(), 'the page is usable again');
    });
  });

  test('scheduled backups: checked in the page, saved, read back after a reload', async (t) => {
    // A local bucket (npm's s3rver): a server that keeps its backups in S3 lists that bucket once
    // this is saved, and no test reaches outside this machine.
    const s3 = await startS3();
    t.after(() => s3.close());
    await step('open', async () => {
      await openBackups(listLoaded);
      await schedule().getByLabel('Cron expression').waitFor();
      assert.ok(await schedule().getByRole('button', { name: 'Save backup settings' }).isDisabled(), 'nothing to save yet');
    });

    await step('client-side checks', async () => {
      await schedule().getByLabel('Cron expression').fill('30 3 * * *');
      await schedule().getByLabel('Keep at most').fill('0');
      await schedule().getByLabel('Store backups in an S3 bucket').check();
      await schedule().getByLabel('Bucket', { exact: true }).fill(s3.bucket);
      await schedule().getByRole('button', { name: 'Save backup settings' }).click();
      await schedule().getByRole('alert').filter({ hasText: 'Fix the marked fields' }).waitFor();
      assert.match(await schedule().locator('.error').first().innerText(), /whole number/);
      assert.equal(await schedule().locator('.error', { hasText: 'Cannot be blank.' }).count(), 3, 'region, endpoint, access key');
      assert.equal((await api('/api/settings')).body.backups.cron, '', 'nothing was saved');
    });

    await step('saved', async () => {
      await schedule().getByLabel('Keep at most').fill('5');
      await schedule().getByLabel('Region').fill('us-east-1');
      await schedule().getByLabel('Endpoint').fill(s3.endpoint);
      await schedule().getByLabel('Access key').fill(ACCESS_KEY);
      await schedule().getByLabel('Secret').fill(SECRET);
      await schedule().getByLabel('Force path-style addressing').check();
      await schedule().getByRole('button', { name: 'Save backup settings' }).click();
      await schedule().getByRole('status').filter({ hasText: 'Backup settings updated.' }).waitFor();
      assert.ok(await schedule().getByRole('button', { name: 'Save backup settings' }).isDisabled(), 'nothing left to save');
      const b = (await api('/api/settings')).body.backups;
      assert.equal(b.cron, '30 3 * * *');
      assert.equal(b.cronMaxKeep, 5);
      const { secret, ...rest } = b.s3;
      assert.deepEqual(rest, { enabled: true, bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, accessKey: ACCESS_KEY, forcePathStyle: true });
    });

    await step('read back after a reload', async () => {
      await openBackups(listLoaded);
      await schedule().getByLabel('Cron expression').waitFor();
      assert.equal(await schedule().getByLabel('Cron expression').inputValue(), '30 3 * * *');
      assert.equal(await schedule().getByLabel('Keep at most').inputValue(), '5');
      assert.ok(await schedule().getByLabel('Store backups in an S3 bucket').isChecked());
      assert.equal(await schedule().getByLabel('Bucket', { exact: true }).inputValue(), s3.bucket);
      assert.equal(await schedule().getByLabel('Region').inputValue(), 'us-east-1');
      assert.equal(await schedule().getByLabel('Endpoint').inputValue(), s3.endpoint);
      assert.equal(await schedule().getByLabel('Access key').inputValue(), ACCESS_KEY);
      assert.ok(await schedule().getByLabel('Force path-style addressing').isChecked());
    });

    await step('turned off again', async () => {
      await schedule().getByLabel('Cron expression').fill('');
      await schedule().getByLabel('Store backups in an S3 bucket').uncheck();
      await schedule().getByRole('button', { name: 'Save backup settings' }).click();
      await schedule().getByRole('status').filter({ hasText: 'Backup settings updated.' }).waitFor();
      const b = (await api('/api/settings')).body.backups;
      assert.equal(b.cron, '');
      assert.equal(b.s3.enabled, false);
    });
  });

  test('no console errors', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
