// The admin dashboard at /_/ in Debian's headless Chromium (playwright-core) against the real basalt
// binary: the install link, sign-in that survives a reload, a collection with several field types,
// records (create, validation error, edit, sort, filter, bulk delete), a rule changed and enforced,
// the Logs page (list, chart, filter, level, detail, its settings), sign-out, a phone-sized window, and no console errors. Each failure leaves a screenshot in
// tests/e2e/artifacts/; SCREENSHOTS=docs/admin refreshes the tour's pictures.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { getJson, startServer } from '../api/helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const tour = process.env.SCREENSHOTS ? path.resolve(here, '../..', process.env.SCREENSHOTS) : null;
const EMAIL = 'owner@example.com';
const PASSWORD = 'owner-password-1';

describe('admin dashboard', () => {
  let srv;
  let browser;
  let page;
  const consoleErrors = [];

  before(async () => {
    srv = await startServer();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      // The browser reports every 4xx answer; the tests cause some on purpose.
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

  // Runs a step; on failure keeps a screenshot of the page as it was.
  async function step(name, fn) {
    try {
      await fn();
    } catch (e) {
      await page.screenshot({ path: path.join(artifacts, name.replace(/\W+/g, '-') + '.png'), fullPage: true }).catch(() => {});
      throw e;
    }
  }
  const shot = async (name) => tour && page.screenshot({ path: path.join(tour, name + '.png') });
  const rows = () => page.locator('tbody tr');

  test('install, sign in, collections, records, rules, sign out', async () => {
    await step('install', async () => {
      const link = srv.stderr().match(/(http:\/\/\S+\/_\/#\/install\/[A-Za-z0-9]+)/);
      assert.ok(link, 'serve prints the install link');
      await page.goto(link[1]);
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByLabel('Password again').fill('something-else');
      await page.getByRole('button', { name: 'Create and sign in' }).click();
      await page.getByText("Values don't match.").waitFor();
      await shot('install');
      await page.getByLabel('Password again').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create and sign in' }).click();
      await page.getByRole('navigation', { name: 'Collections' }).waitFor();
      // The link worked once.
      const again = await getJson(`${srv.url}/api/install`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: link[1].split('/').pop(), email: 'x@example.com', password: PASSWORD, passwordConfirm: PASSWORD }) });
      assert.equal(again.status, 400);
    });

    await step('stays signed in', async () => {
      await page.reload();
      await page.getByRole('link', { name: /^users/ }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Sign in' }).count(), 0);
    });

    await step('create a collection', async () => {
      await page.getByRole('link', { name: '+ New collection' }).click();
      await page.getByLabel('Name', { exact: true }).fill('tasks');
      const fields = [['title', 'text'], ['points', 'number'], ['done', 'bool'], ['level', 'select'], ['meta', 'json'], ['due', 'date']];
      for (let i = 0; i < fields.length; i++) {
        await page.getByRole('button', { name: '+ Add field' }).click();
        await page.getByLabel(`Field ${i + 1} name`).fill(fields[i][0]);
        await page.getByLabel(`Field ${i + 1} type`).selectOption(fields[i][1]);
      }
      await page.locator('[data-field-row="0"]').getByLabel('required').check();
      await page.locator('[data-field-row="0"]').getByRole('button', { name: 'More options' }).click();
      await page.getByLabel('Field 1 options (JSON)').fill('{"pattern": "^[a-z ]+$"}');
      await page.getByLabel('Field 4 values').fill('low, high');
      // A rule with a syntax error is shown on its field.
      await page.locator('#rule-listRule').locator('..').getByLabel('locked').uncheck();
      await page.locator('#rule-listRule').fill('title ~');
      await page.getByRole('button', { name: 'Create collection' }).click();
      await page.locator('.error', { hasText: /./ }).first().waitFor();
      assert.ok(await page.locator('#rule-listRule ~ .error, .row:has(#rule-listRule) + .error').count() > 0, 'the rule error sits under the rule');
      await page.locator('#rule-listRule').locator('..').getByLabel('locked').check();
      await page.getByRole('button', { name: 'API preview' }).click();
      await page.getByText('GET ' + srv.url + '/api/collections/tasks/records/RECORD_ID').waitFor();
      await shot('collection');
      await page.getByRole('button', { name: 'Create collection' }).click();
      await page.getByText('No records yet.').waitFor();
    });

    await step('records: create, validation error, edit', async () => {
      await page.getByRole('button', { name: 'New record' }).click();
      await page.getByLabel(/^points/).fill('3');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.locator('[data-field="title"] .error').waitFor();
      assert.match(await page.locator('[data-field="title"] .error').innerText(), /blank/i);
      await page.getByLabel(/^title/).fill('BAD1');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.locator('[data-field="title"] .error').filter({ hasText: /format|pattern|match/i }).waitFor();
      await page.getByLabel(/^title/).fill('first');
      await page.getByLabel('done').check();
      await page.getByLabel(/^level/).selectOption('high');
      await page.getByLabel(/^meta/).fill('{"a": [1, 2]}');
      await page.getByRole('button', { name: 'Create' }).click();
      await rows().filter({ hasText: 'first' }).waitFor();
      await page.getByRole('button', { name: 'New record' }).click();
      await page.getByLabel(/^title/).fill('second');
      await page.getByLabel(/^points/).fill('10');
      await page.getByLabel(/^meta/).fill('{not json');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByText('Must be valid JSON.').waitFor();
      await page.getByLabel(/^meta/).fill('');
      await page.getByRole('button', { name: 'Create' }).click();
      await rows().filter({ hasText: 'second' }).waitFor();
      await rows().filter({ hasText: 'second' }).getByRole('button', { name: 'Edit' }).click();
      await page.getByLabel(/^title/).fill('second edited');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await rows().filter({ hasText: 'second edited' }).waitFor();
      const stored = await getJson(`${srv.url}/api/collections/tasks/records?sort=points`, { headers: { Authorization: await page.evaluate(() => JSON.parse(localStorage.getItem('basalt_admin_auth')).token) } });
      assert.deepEqual(stored.body.items.map((r) => [r.title, r.points, r.done, r.level]), [['first', 3, true, 'high'], ['second edited', 10, false, '']]);
      assert.deepEqual(stored.body.items[0].meta, { a: [1, 2] });
      await shot('records');
    });

    await step('sort and filter', async () => {
      await page.getByRole('button', { name: 'Sort by points' }).click();
      await page.getByRole('button', { name: 'Sort by points' }).filter({ hasText: '▲' }).waitFor();
      const firstRow = (text) => page.waitForFunction((t) => document.querySelector('tbody tr')?.innerText.includes(t), text);
      await firstRow('first');
      await page.getByRole('button', { name: 'Sort by points' }).click();
      await page.getByRole('button', { name: 'Sort by points' }).filter({ hasText: '▼' }).waitFor();
      await firstRow('second edited');
      await page.getByLabel('Filter').fill('points > 5');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
      assert.match(await rows().first().innerText(), /second edited/);
      await page.getByLabel('Filter').fill('points >');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByRole('alert').filter({ hasText: /filter/i }).waitFor();
      await page.getByRole('button', { name: 'Clear' }).click();
      await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 2);
    });

    await step('bulk delete', async () => {
      await rows().filter({ hasText: 'first' }).getByRole('checkbox').check();
      await page.getByRole('button', { name: 'Delete selected (1)' }).click();
      await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    });

    await step('a rule changed in the dashboard is enforced', async () => {
      assert.equal((await getJson(`${srv.url}/api/collections/tasks/records`)).status, 403, 'locked: superusers only');
      await page.getByRole('link', { name: 'Edit collection' }).click();
      await page.locator('.row:has(#rule-listRule)').getByLabel('locked').uncheck();
      await page.locator('#rule-listRule').fill('points > 5');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('button', { name: 'New record' }).waitFor();
      const guest = await getJson(`${srv.url}/api/collections/tasks/records`);
      assert.equal(guest.status, 200);
      assert.deepEqual(guest.body.items.map((r) => r.title), ['second edited']);
    });

    await step('a view collection: derived fields, read-only records, deleted', async () => {
      await page.getByRole('link', { name: '+ New collection' }).click();
      await page.getByLabel('Name', { exact: true }).fill('big_tasks');
      await page.getByLabel('Type').selectOption('view');
      await page.getByLabel('View query (one SELECT)').fill('SELECT id, title, points FROM tasks WHERE points > 5');
      await page.locator('.row:has(#rule-listRule)').getByLabel('locked').uncheck();
      await page.getByRole('button', { name: 'Create collection' }).click();
      await rows().filter({ hasText: 'second edited' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'New record' }).count(), 0, 'view records are read-only');
      const guest = await getJson(`${srv.url}/api/collections/big_tasks/records`);
      assert.deepEqual(guest.body.items.map((r) => [r.title, r.points]), [['second edited', 10]]);
      await page.getByRole('link', { name: 'Edit collection' }).click();
      await page.getByRole('button', { name: 'Delete collection' }).click();
      await page.getByRole('link', { name: /^big_tasks/ }).waitFor({ state: 'detached' });
      assert.equal((await getJson(`${srv.url}/api/collections/big_tasks/records`)).status, 404);
    });

    await step('settings', async () => {
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Acme');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      await shot('settings');
    });

    await step('users: an auth record with a password, impersonated', async () => {
      await page.getByRole('link', { name: /^users/ }).click();
      await page.getByRole('button', { name: 'New record' }).click();
      await page.getByLabel(/^email/).fill('ann@example.com');
      await page.getByLabel(/^password/).fill('ann-password-1');
      await page.getByLabel('Password again').fill('ann-password-1');
      await page.getByRole('button', { name: 'Create' }).click();
      await rows().filter({ hasText: 'ann@example.com' }).waitFor();
      await rows().filter({ hasText: 'ann@example.com' }).getByRole('button', { name: 'Edit' }).click();
      await page.getByRole('button', { name: 'Impersonate' }).click();
      const token = await page.getByLabel(/^Token for/).inputValue();
      const me = await getJson(`${srv.url}/api/collections/users/records`, { headers: { Authorization: token } });
      assert.equal(me.status, 200);
      assert.deepEqual(me.body.items.map((u) => u.email), ['ann@example.com'], 'the token acts as the user');
      await page.keyboard.press('Escape');
    });

    await step('webhooks', async () => {
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByText('No webhooks yet.').waitFor();
      await page.getByLabel('URL').fill('https://hooks.example.com/basalt');
      await page.getByLabel('create').check();
      await page.getByRole('button', { name: 'Create webhook' }).click();
      assert.match(await page.locator('[data-secret]').innerText(), /^whsec_[A-Za-z0-9]{32}$/);
      await rows().filter({ hasText: 'hooks.example.com' }).waitFor();
      await shot('webhooks');
      await rows().filter({ hasText: 'hooks.example.com' }).getByRole('button', { name: 'Delete' }).click();
      await page.getByText('No webhooks yet.').waitFor();
    });

    await step('logs: list, chart, filter, level, detail, settings', async () => {
      // Two guest requests: one answered, one failing with 404 (logged at level 8, ERROR).
      assert.equal((await getJson(`${srv.url}/api/health`)).status, 200);
      assert.equal((await getJson(`${srv.url}/api/collections/no_such_logs/records`)).status, 404);
      await page.getByRole('link', { name: 'Logs', exact: true }).click();
      await page.waitForFunction(() => location.hash.startsWith('#/logs'));
      const logRows = page.locator('table.logs tbody tr');
      const failed = logRows.filter({ hasText: 'GET /api/collections/no_such_logs/records' });
      const health = logRows.filter({ hasText: 'GET /api/health' });
      // The log store writes about once a second: refresh until both requests are listed.
      for (let i = 0; ; i++) {
        if ((await failed.count()) > 0 && (await health.count()) > 0) break;
        assert.ok(i < 40, 'the requests reach the Logs page');
        await page.waitForTimeout(250);
        await page.getByRole('button', { name: 'Refresh' }).click();
      }
      assert.equal(await failed.first().getAttribute('data-level'), 'error');
      assert.match(await failed.first().innerText(), /ERROR[\s\S]*404/);
      assert.equal(await health.first().getAttribute('data-level'), 'info');
      assert.match(await health.first().innerText(), /INFO[\s\S]*200/);
      // The chart: uPlot draws into a canvas inside .uplot.
      await page.locator('[data-chart] .uplot canvas').waitFor();
      await shot('logs');
      // The dashboard's own (superuser) requests are left out until asked for.
      const own = logRows.filter({ hasText: 'POST /api/webhooks' });
      assert.equal(await own.count(), 0, 'superuser requests are hidden by default');
      await page.getByLabel('Include superuser requests').check();
      await own.first().waitFor();
      await page.getByLabel('Include superuser requests').uncheck();
      await own.first().waitFor({ state: 'detached' });

      const onlyErrors = () => page.waitForFunction(() => {
        const levels = [...document.querySelectorAll('table.logs tbody tr')].map((r) => r.dataset.level);
        return levels.length > 0 && levels.every((l) => l === 'error');
      });
      await page.getByLabel('Filter logs').fill('data.status >= 400');
      await page.getByRole('button', { name: 'Apply' }).click();
      await onlyErrors();
      await failed.first().waitFor();
      assert.equal(await health.count(), 0);
      // The filter lives in the URL: a reload keeps it.
      await page.reload();
      await failed.first().waitFor();
      assert.equal(await page.getByLabel('Filter logs').inputValue(), 'data.status >= 400');
      await onlyErrors();
      // A plain word searches messages and URLs.
      await page.getByLabel('Filter logs').fill('api/health');
      await page.getByRole('button', { name: 'Apply' }).click();
      await failed.first().waitFor({ state: 'detached' });
      await health.first().waitFor();
      // An invalid filter says why.
      await page.getByLabel('Filter logs').fill('data.status >');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByRole('alert').filter({ hasText: /filter/i }).waitFor();
      await page.getByRole('button', { name: 'Clear' }).click();
      await health.first().waitFor();
      await page.getByLabel('Level').selectOption('ERROR');
      await onlyErrors();
      await failed.first().waitFor();

      // The detail panel shows the whole entry.
      await failed.first().click();
      const panel = page.getByRole('dialog', { name: 'Log entry' });
      await panel.waitFor();
      const json = await panel.locator('[data-json]').innerText();
      const data = JSON.parse(json);
      assert.equal(data.url, '/api/collections/no_such_logs/records');
      assert.equal(data.status, 404);
      assert.equal(data.type, 'request');
      assert.match(await panel.innerText(), /message\s+GET \/api\/collections\/no_such_logs\/records/);
      await shot('logs-entry');
      await page.keyboard.press('Escape');
      await panel.waitFor({ state: 'detached' });

      // Its settings, in Settings, saved and read back through the API.
      await page.getByRole('link', { name: 'Log settings' }).click();
      await page.getByLabel('Keep entries for (days; 0 keeps none)').fill('7');
      await page.getByLabel("Log the auth record's id").check();
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      const token = await page.evaluate(() => JSON.parse(localStorage.getItem('basalt_admin_auth')).token);
      const settings = await getJson(`${srv.url}/api/settings`, { headers: { Authorization: token } });
      assert.equal(settings.status, 200);
      assert.deepEqual(settings.body.logs, { maxDays: 7, minLevel: 0, logIP: true, logAuthId: true });
    });

    await step('phone-sized window', async () => {
      await page.setViewportSize({ width: 390, height: 800 });
      await page.getByRole('button', { name: 'Menu' }).click();
      await page.getByRole('link', { name: /^tasks/ }).click();
      await rows().first().waitFor();
      await page.setViewportSize({ width: 1280, height: 800 });
    });

    await step('sign out and back in', async () => {
      await page.getByRole('link', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await shot('sign-in');
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password').fill('wrong-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('Wrong email or password.').waitFor();
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Collections' }).waitFor();
    });

    assert.deepEqual(consoleErrors, [], 'no console errors');
  });
});
