// File fields in the admin dashboard (issue 14), in Debian's headless Chromium (playwright-core)
// against the real basalt binary: a collection with file fields made in the collection form (max
// select, max size, MIME types, thumbs, protected; saved and saved again unchanged, checked through
// the API), a record created with files picked and dropped (a refused type shows the server's
// error), thumbnails that load in the form and the records table, one file removed and another
// added in one save, a single field replaced, and a protected file opened with a file token. No
// console errors. Each failure leaves a screenshot in tests/e2e/artifacts/; SCREENSHOTS=docs/admin
// refreshes the tour's picture of a record form with files (docs/admin/files.png).
//
// The server serves the dashboard it finds beside its binary; BASALT_ADMIN_DIR points it at another
// build (e.g. a worktree's web/admin/dist).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { getJson, startServer } from '../api/helpers.mjs';
import { encodePng } from '../api/png.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const tour = process.env.SCREENSHOTS ? path.resolve(here, '../..', process.env.SCREENSHOTS) : null;
const SU = { email: 'owner@example.com', password: 'owner-password-1' };

// A small RGB PNG: a red and a blue half.
const png = (width, height) => encodePng(width, height, (x) => (x < width / 2 ? [220, 40, 40] : [40, 40, 220]));

const PIC = png(64, 48);
const file = (name, mimeType, buffer) => ({ name, mimeType, buffer: Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer) });

describe('admin dashboard: files', () => {
  let srv;
  let browser;
  let context;
  let page;
  const consoleErrors = [];

  before(async () => {
    srv = await startServer({ superuser: SU });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e) + (process.env.STACKS ? e.stack : '')));
    page.on('dialog', (d) => d.accept());
    mkdirSync(artifacts, { recursive: true });
    if (tour) mkdirSync(tour, { recursive: true });
  });

  after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.stop();
  });

  async function step(name, fn) {
    try {
      await fn();
    } catch (e) {
      await page.screenshot({ path: path.join(artifacts, 'files-' + name.replace(/\W+/g, '-') + '.png'), fullPage: true }).catch(() => {});
      throw e;
    }
  }
  const shot = async (name) => tour && page.screenshot({ path: path.join(tour, name + '.png') });
  const rows = () => page.locator('tbody tr');
  const token = () => page.evaluate(() => JSON.parse(localStorage.getItem('basalt_admin_auth')).token);
  const api = async (p, opts = {}) => getJson(srv.url + p, { ...opts, headers: { Authorization: await token(), ...(opts.headers || {}) } });
  const fieldOf = (collection, name) => collection.fields.find((f) => f.name === name);
  // Resolves once an <img> has loaded and decoded (naturalWidth > 0); returns its src.
  const loaded = async (img) => {
    await img.waitFor();
    await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
    return img.getAttribute('src');
  };
  const form = () => page.getByRole('dialog');
  let record;

  test('file fields: options, upload, preview, removal, protected files', async () => {
    await step('sign in', async () => {
      await page.goto(srv.url + '/_/');
      await page.getByLabel('Email').fill(SU.email);
      await page.getByLabel('Password').fill(SU.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Collections' }).waitFor();
    });

    await step('a collection with file fields', async () => {
      await page.getByRole('link', { name: '+ New collection' }).click();
      await page.getByLabel('Name', { exact: true }).fill('docs');
      const fields = [['title', 'text'], ['files', 'file'], ['secret', 'file']];
      for (let i = 0; i < fields.length; i++) {
        await page.getByRole('button', { name: '+ Add field' }).click();
        await page.getByLabel(`Field ${i + 1} name`).fill(fields[i][0]);
        await page.getByLabel(`Field ${i + 1} type`).selectOption(fields[i][1]);
      }
      await page.getByLabel('Field 2 max select').fill('3');
      await page.getByLabel('Field 2 max size (MB)').fill('2');
      await page.getByLabel('Field 2 MIME types').fill('image/png, text/plain');
      await page.getByLabel('Field 2 thumb sizes').fill('50x50, 0x80');
      await page.locator('[data-field-row="2"]').getByLabel('protected').check();
      await page.getByRole('button', { name: 'Create collection' }).click();
      await page.getByText('No records yet.').waitFor();

      const docs = (await api('/api/collections/docs')).body;
      const files = fieldOf(docs, 'files');
      assert.equal(files.type, 'file');
      assert.equal(files.maxSelect, 3);
      assert.equal(files.maxSize, 2 * 1024 * 1024);
      assert.deepEqual(files.mimeTypes, ['image/png', 'text/plain']);
      assert.deepEqual(files.thumbs, ['50x50', '0x80']);
      assert.equal(files.protected, false);
      const secret = fieldOf(docs, 'secret');
      assert.equal(secret.protected, true);
      assert.ok((secret.maxSelect || 1) === 1, 'one file');
    });

    await step('the options round-trip through the form', async () => {
      await page.getByRole('link', { name: 'Edit collection' }).click();
      assert.equal(await page.getByLabel('Field 2 max select').inputValue(), '3');
      assert.equal(await page.getByLabel('Field 2 max size (MB)').inputValue(), '2');
      assert.equal(await page.getByLabel('Field 2 MIME types').inputValue(), 'image/png, text/plain');
      assert.equal(await page.getByLabel('Field 2 thumb sizes').inputValue(), '50x50, 0x80');
      assert.ok(await page.locator('[data-field-row="2"]').getByLabel('protected').isChecked());
      const before = (await api('/api/collections/docs')).body;
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('button', { name: 'New record' }).waitFor();
      const saved = (await api('/api/collections/docs')).body;
      for (const name of ['files', 'secret']) {
        const { maxSelect, maxSize, mimeTypes, thumbs, protected: prot } = fieldOf(saved, name);
        const was = fieldOf(before, name);
        assert.deepEqual({ maxSelect, maxSize, mimeTypes, thumbs, prot }, { maxSelect: was.maxSelect, maxSize: was.maxSize, mimeTypes: was.mimeTypes, thumbs: was.thumbs, prot: was.protected }, name);
      }
      // An invalid thumb size is refused by the server and shown on its field.
      await page.getByRole('link', { name: 'Edit collection' }).click();
      await page.getByLabel('Field 2 thumb sizes').fill('50x50, axb');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.locator('[data-field-row="1"] .error').filter({ hasText: /thumbs/ }).waitFor();
      await page.getByLabel('Field 2 thumb sizes').fill('50x50, 0x80');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('button', { name: 'New record' }).waitFor();
    });

    await step('a record with files picked and dropped', async () => {
      await page.getByRole('button', { name: 'New record' }).click();
      await page.getByLabel(/^title/).fill('first');
      await page.getByLabel(/^files/).setInputFiles([file('pic.png', 'image/png', PIC), file('notes.txt', 'text/plain', 'hello notes'), file('page.html', 'text/html', '<html><body>x</body></html>')]);
      // Dropped onto the field: a DataTransfer made in the page.
      const dropped = await page.evaluateHandle(() => {
        const dt = new DataTransfer();
        dt.items.add(new File(['dropped text'], 'dropped.txt', { type: 'text/plain' }));
        return dt;
      });
      await page.locator('[data-dropzone="files"]').dispatchEvent('drop', { dataTransfer: dropped });
      // Three fit: the fourth is not taken, and the field says so.
      await form().getByText('not added').waitFor();
      assert.equal(await page.locator('[data-dropzone="files"] [data-new]').count(), 3);
      // A new image is previewed before it is sent.
      assert.match(await loaded(page.locator('[data-file-item="pic.png"] img')), /^blob:/);
      await page.getByLabel(/^secret/).setInputFiles([file('secret.png', 'image/png', PIC)]);
      // The server sniffs the HTML and refuses it under the field.
      await page.getByRole('button', { name: 'Create' }).click();
      await page.locator('[data-field="files"] .error[role="alert"]').filter({ hasText: /type/i }).waitFor();
      await page.getByRole('button', { name: 'Remove page.html' }).click();
      await page.locator('[data-dropzone="files"]').dispatchEvent('drop', { dataTransfer: dropped });
      assert.equal(await page.locator('[data-dropzone="files"] [data-new]').count(), 3);
      assert.ok(await page.getByRole('button', { name: 'Add files' }).isDisabled(), 'the field is full');
      await page.getByRole('button', { name: 'Create' }).click();
      await rows().filter({ hasText: 'first' }).waitFor();

      const list = (await api('/api/collections/docs/records')).body;
      assert.equal(list.items.length, 1);
      record = list.items[0];
      assert.equal(record.files.length, 3);
      assert.match(record.files[0], /^pic_[a-z0-9]{10}\.png$/);
      assert.match(record.files[1], /^notes_[a-z0-9]{10}\.txt$/);
      assert.match(record.files[2], /^dropped_[a-z0-9]{10}\.txt$/);
      assert.match(record.secret, /^secret_[a-z0-9]{10}\.png$/);
      const notes = await fetch(`${srv.url}/api/files/docs/${record.id}/${record.files[1]}`, { headers: { Authorization: await token() } });
      assert.equal(await notes.text(), 'hello notes');
    });

    await step('the records table shows thumbnails and names', async () => {
      const row = rows().filter({ hasText: 'first' });
      const src = await loaded(row.locator(`[data-file="${record.files[0]}"] img`));
      assert.match(src, /thumb=100x100/);
      await row.locator(`a.file-link[data-file="${record.files[1]}"]`).filter({ hasText: record.files[1] }).waitFor();
      // The protected image's thumbnail is fetched with a file token.
      const secretSrc = await loaded(row.locator(`[data-file="${record.secret}"] img`));
      assert.match(secretSrc, /[?&]token=/);
    });

    await step('the form previews stored files through thumbnails', async () => {
      await rows().filter({ hasText: 'first' }).getByRole('button', { name: 'Edit' }).click();
      const src = await loaded(form().locator(`[data-file-item="${record.files[0]}"] img`));
      assert.match(src, /\/api\/files\/[^/]+\/[a-z0-9]+\/pic_[a-z0-9]{10}\.png\?thumb=100x100$/);
      const res = await fetch(new URL(src, srv.url));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      // Other files show their kind.
      assert.equal(await form().locator(`[data-file-item="${record.files[1]}"] .file-kind`).innerText(), 'TXT');
      await loaded(form().locator(`[data-file-item="${record.secret}"] img`));
      await shot('files');
    });

    await step('a protected file opens with a file token', async () => {
      const guest = await fetch(`${srv.url}/api/files/docs/${record.id}/${record.secret}`);
      assert.equal(guest.status, 404, 'not without a token');
      const [tab] = await Promise.all([context.waitForEvent('page'), form().locator(`a[data-file="${record.secret}"]`).click()]);
      await tab.waitForLoadState();
      const url = tab.url();
      assert.match(url, new RegExp(`/api/files/[^/]+/${record.id}/${record.secret}\\?token=`));
      await tab.close();
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), PIC);
    });

    await step('remove one file and add another in one save', async () => {
      const [, notes] = record.files;
      await form().getByRole('button', { name: 'Remove ' + notes }).click();
      await form().locator(`[data-file-item="${notes}"]`).getByText('removed on save').waitFor();
      await page.getByLabel(/^files/).setInputFiles([file('more.png', 'image/png', PIC)]);
      await form().locator('[data-file-item="more.png"]').waitFor();
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      const after = (await api(`/api/collections/docs/records/${record.id}`)).body;
      assert.equal(after.files.length, 3);
      assert.ok(!after.files.includes(notes), 'the removed file is gone from the record');
      assert.deepEqual(after.files.slice(0, 2), [record.files[0], record.files[2]]);
      assert.match(after.files[2], /^more_[a-z0-9]{10}\.png$/);
      assert.equal(after.secret, record.secret, 'the other fields keep their files');
      assert.equal(after.title, 'first');
      const gone = await fetch(`${srv.url}/api/files/docs/${record.id}/${notes}`, { headers: { Authorization: await token() } });
      assert.equal(gone.status, 404, 'and from the storage');
      record = after;
    });

    await step('a single file field is replaced, then cleared', async () => {
      await rows().filter({ hasText: 'first' }).getByRole('button', { name: 'Edit' }).click();
      assert.equal(await page.getByRole('button', { name: 'Replace file' }).count(), 1);
      await page.getByLabel(/^secret/).setInputFiles([file('report.txt', 'text/plain', 'the new secret')]);
      await form().locator(`[data-file-item="${record.secret}"]`).getByText('removed on save').waitFor();
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      let after = (await api(`/api/collections/docs/records/${record.id}`)).body;
      assert.match(after.secret, /^report_[a-z0-9]{10}\.txt$/);
      await rows().filter({ hasText: 'first' }).getByRole('button', { name: 'Edit' }).click();
      await form().getByRole('button', { name: 'Remove ' + after.secret }).click();
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      after = (await api(`/api/collections/docs/records/${record.id}`)).body;
      assert.equal(after.secret, '');
      assert.deepEqual(after.files, record.files);
    });

    assert.deepEqual(consoleErrors, [], 'no console errors');
  });
});
