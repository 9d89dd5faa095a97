// PocketBase's OWN dashboard (its repository's ui/dist, v0.39.x) served by basalt with
// `serve --admin-dir`, walked in Debian's headless Chromium (playwright-core), so that basalt stays
// wire-compatible with it: sign in (and a reload that refreshes the token), the collections (users,
// _superusers and the other system ones, the overview), a base collection made in the UI with
// several field types (a taken name first: the 400 lands under the name input), its records created
// and edited, a user created, its panel (Auth providers, impersonation), the users auth options
// saved with OTP on, collection settings, the API preview, every settings page (application with its
// accordions and a rate limit rule, mail, storage, backups, crons run, export, import merged), a
// record bulk-deleted and a collection deleted, the SQL console, logs, sign out and a password-reset
// request.
//
// Every /api/* answer >= 400 that PocketBase itself would not give, every failed dashboard asset,
// every console error and every uncaught page error is collected and the last test fails with the
// list (tests/e2e/artifacts/pb-report.json keeps it, with the bodies). Each page leaves a screenshot
// in tests/e2e/artifacts/pb-*.png; a failed step leaves pb-FAILED-<step>.png.
//
// PocketBase's files are not copied into this tree. The dashboard comes from, in order:
//   - PB_DASHBOARD_DIR: a directory holding PocketBase's built dashboard (index.html, assets/...);
//   - a bare git mirror of pocketbase/pocketbase at /work/.mirror/pocketbase+pocketbase/repo, whose
//     ui/dist is extracted into a temp dir with `git archive HEAD ui/dist | tar -x`.
// With neither, the suite is skipped.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { getJson, startServer } from '../api/helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const MIRROR = '/work/.mirror/pocketbase+pocketbase/repo';
const EMAIL = 'pb-ui@example.com';
const PASSWORD = 'pb-ui-password-1';
const USER_EMAIL = 'pb-ui-user@example.com';

// Endpoints PocketBase's dashboard calls that basalt has not built yet; their failures are listed in
// the report but do not fail the test. Keep this list short and remove entries as they are built.
const NOT_BUILT = [
  // Backups: Settings > Backups lists, creates, uploads and restores them.
  { re: /^\/api\/backups(\/|\?|$)/, why: 'backups are not built' },
];

/** Finds PocketBase's built dashboard: {dir, version, cleanup} or {skip: reason}. */
function findDashboard() {
  const env = process.env.PB_DASHBOARD_DIR;
  if (env && existsSync(path.join(env, 'index.html'))) return { dir: path.resolve(env), cleanup: () => {}, source: env };
  const why = env ? `PB_DASHBOARD_DIR=${env} has no index.html, and ` : 'PB_DASHBOARD_DIR is not set and ';
  if (!existsSync(MIRROR)) {
    return { skip: `${why}there is no pocketbase/pocketbase mirror at ${MIRROR}: PocketBase's dashboard is not available` };
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'basalt-pb-dashboard-'));
  try {
    execFileSync('bash', ['-o', 'pipefail', '-c', 'git --git-dir="$1" archive HEAD ui/dist | tar -x -C "$2"', '_', MIRROR, tmp], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 120_000,
    });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    return { skip: `${why}extracting ui/dist from ${MIRROR} failed: ${String(e.stderr || e.message).trim().slice(0, 300)}` };
  }
  const dir = path.join(tmp, 'ui', 'dist');
  if (!existsSync(path.join(dir, 'index.html'))) {
    rmSync(tmp, { recursive: true, force: true });
    return { skip: `${why}the mirror at ${MIRROR} has no ui/dist/index.html at HEAD` };
  }
  return { dir, cleanup: () => rmSync(tmp, { recursive: true, force: true }), source: `${MIRROR} (git archive HEAD ui/dist)` };
}

/** The "PocketBase vX.Y.Z" the bundle announces, for the log. */
function dashboardVersion(dir) {
  try {
    for (const f of readdirSync(path.join(dir, 'assets'))) {
      if (!/^index-.*\.js$/.test(f)) continue;
      const m = readFileSync(path.join(dir, 'assets', f), 'utf8').match(/PocketBase (v\d+\.\d+\.\d+)/);
      if (m) return m[1];
    }
  } catch {}
  return 'unknown';
}

const dash = findDashboard();

describe('PocketBase dashboard served by basalt', { skip: dash.skip || false }, () => {
  let srv;
  let browser;
  let page;
  let token; // a superuser token for checks through the API
  let current = 'setup'; // the step under way, to attribute failures
  const started = Date.now();
  const timings = [];
  const problems = []; // {kind, step, ...}: fail the run
  const notBuilt = []; // failures of allow-listed endpoints: reported only
  const warnings = []; // console warnings: reported only
  const calls = []; // every /api/* answer, for pb-report.json
  const pending = new Set(); // in-flight requests to /api/*
  const bodyReads = [];
  const expected = []; // {method, re, status}: a failure a step causes on purpose (consumed once)

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    srv = await startServer({ args: ['--admin-dir', dash.dir], superuser: { email: EMAIL, password: PASSWORD } });
    const auth = await getJson(`${srv.url}/api/collections/_superusers/auth-with-password`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ identity: EMAIL, password: PASSWORD }),
    });
    assert.equal(auth.status, 200, 'the superuser signs in through the API');
    token = auth.body.token;

    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'UTC', locale: 'en-US' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const origin = new URL(srv.url).origin;

    page.on('request', (req) => {
      const u = new URL(req.url());
      if (u.origin === origin && u.pathname.startsWith('/api/')) pending.add(req);
    });
    page.on('requestfinished', (req) => pending.delete(req));
    page.on('requestfailed', (req) => {
      pending.delete(req);
      const u = new URL(req.url());
      const err = req.failure()?.errorText || '';
      // The SDK cancels superseded requests (autocancellation): net::ERR_ABORTED is expected.
      if (u.origin !== origin || err.includes('ERR_ABORTED')) return;
      problems.push({ kind: 'network', step: current, method: req.method(), path: u.pathname + u.search, error: err });
    });
    page.on('response', (res) => {
      const u = new URL(res.url());
      if (u.origin === origin && u.pathname.startsWith('/api/')) calls.push(`${current} | ${res.request().method()} ${decodeURIComponent(u.pathname + u.search)} -> ${res.status()}`);
      if (u.origin !== origin || res.status() < 400) return;
      const req = res.request();
      const entry = {
        kind: u.pathname.startsWith('/api/') ? 'api' : 'asset',
        step: current,
        method: req.method(),
        path: decodeURIComponent(u.pathname + u.search),
        status: res.status(),
        request: (req.postData() || '').slice(0, 300),
        body: '',
      };
      const i = expected.findIndex((x) => x.method === entry.method && x.re.test(u.pathname) && x.status === entry.status);
      if (i >= 0) {
        expected.splice(i, 1);
        return;
      }
      const nb = NOT_BUILT.find((x) => x.re.test(u.pathname));
      if (nb) entry.why = nb.why;
      (nb ? notBuilt : problems).push(entry);
      bodyReads.push(res.text().then((t) => (entry.body = t.slice(0, 400)), () => {}));
    });
    page.on('console', (m) => {
      const text = m.text();
      // Chromium logs every 4xx/5xx answer; the response handler above already has them.
      if (m.type() === 'error' && /^Failed to load resource: the server responded with a status of/.test(text)) return;
      if (m.type() === 'error') problems.push({ kind: 'console', step: current, text: text.slice(0, 500) });
      else if (m.type() === 'warning') warnings.push({ step: current, text: text.slice(0, 300) });
    });
    page.on('pageerror', (e) => problems.push({ kind: 'pageerror', step: current, text: String(e).slice(0, 500) }));
    page.on('dialog', (d) => d.accept());
  });

  after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.stop();
    dash.cleanup?.();
  });

  // Helpers ---------------------------------------------------------------------------------------

  const topModal = () => page.locator('.modal[data-modal-state="open"]').last();
  const toast = (text) => page.locator('.toasts-container .toast', { hasText: text }).first();
  const sidebarItem = (name) => page.locator(`.collections-sidebar button.nav-item[title="${name}"]`);
  const shot = (name) => page.screenshot({ path: path.join(artifacts, `pb-${name}.png`), fullPage: true });
  const api = (p, opts = {}) => getJson(srv.url + p, { ...opts, headers: { Authorization: token, 'Content-Type': 'application/json', ...(opts.headers || {}) } });

  /** Waits until no /api/* request has been in flight for `quietMs`. */
  async function settle(quietMs = 400, maxMs = 10_000) {
    const end = Date.now() + maxMs;
    let quietSince = Date.now();
    while (Date.now() < end) {
      if (pending.size) quietSince = Date.now();
      else if (Date.now() - quietSince >= quietMs) return;
      await page.waitForTimeout(50);
    }
  }

  async function closeModals() {
    await page.evaluate(() => {
      for (let i = 0; i < 10 && document.querySelector('.modal[data-modal-state="open"]'); i++) window.app.modals.close(null, true);
    }).catch(() => {});
    await page.waitForTimeout(300);
  }

  async function go(hash, ready) {
    await page.evaluate((h) => (window.location.hash = h), hash);
    if (ready) await page.locator(ready).first().waitFor();
    await page.locator('.page .loader').first().waitFor({ state: 'hidden' }).catch(() => {});
    await settle();
  }

  async function openCollection(name) {
    if (!(await sidebarItem(name).isVisible())) {
      // system collections sit in a closed <details>
      await page.locator('.collections-sidebar details.nav-group-system-collections > summary').click();
    }
    await sidebarItem(name).click();
    await page.locator('.page-header .breadcrumbs > div', { hasText: new RegExp(`^${name}$`) }).waitFor();
    await page.locator('.page-header').getByRole('button', { name: 'API preview' }).waitFor();
    await settle();
  }

  // One page of the walk per test: a failure is kept (with a screenshot) and the walk goes on.
  function walk(name, fn) {
    test(name, async () => {
      current = name;
      const t0 = Date.now();
      try {
        await fn();
        await settle();
      } catch (e) {
        await page.screenshot({ path: path.join(artifacts, `pb-FAILED-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
        await closeModals();
        throw e;
      } finally {
        timings.push({ step: name, ms: Date.now() - t0 });
      }
    });
  }

  // The walk --------------------------------------------------------------------------------------

  walk('login page, sign in', async () => {
    await page.goto(`${srv.url}/_/`);
    await page.locator('#login_identity').waitFor();
    await page.locator('#login_identity').fill(EMAIL);
    await page.locator('#login_pass').fill(PASSWORD);
    await shot('login');
    await page.getByRole('button', { name: 'Login' }).click();
    await page.locator('.collections-sidebar').waitFor();
    await sidebarItem('users').waitFor();
    // the app header shows who is signed in
    await page.locator('.logged-user', { hasText: EMAIL }).waitFor();
    // a reload keeps the session (the dashboard refreshes the token in the background)
    const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/collections/_superusers/auth-refresh'));
    await page.reload();
    assert.equal((await refreshed).status(), 200, 'auth-refresh');
    await sidebarItem('users').waitFor();
  });

  walk('collections list: users and the system collections', async () => {
    await page.locator('.collections-sidebar details.nav-group-system-collections > summary').click();
    for (const name of ['users', '_superusers', '_externalAuths', '_mfas', '_otps', '_authOrigins']) {
      await sidebarItem(name).waitFor();
    }
    await openCollection('users');
    await shot('collections');
    // the ERD-style collections overview
    await page.locator('.collections-sidebar button:has(i.ri-organization-chart)').click();
    await topModal().waitFor();
    await settle();
    await shot('collections-overview');
    await closeModals();
  });

  walk('create a base collection with several field types in the UI', async () => {
    await page.locator('.collections-sidebar').getByRole('button', { name: 'New collection' }).click();
    const modal = topModal();
    await modal.locator('input[name="name"]').fill('pb_notes');
    const fieldTypes = ['Plain text', 'Number', 'Bool', 'Email', 'URL', 'Datetime', 'JSON', 'Rich editor'];
    for (const label of fieldTypes) {
      await modal.getByRole('button', { name: 'New field' }).click();
      await page.locator('.field-types-dropdown:popover-open').getByRole('button', { name: label, exact: true }).click();
    }
    await modal.locator('input[name="fields.8.name"]').waitFor();
    await shot('new-collection');
    await modal.locator('.tab-item', { hasText: 'API rules' }).click();
    await shot('new-collection-rules');
    // a taken name first: PocketBase answers 400 with data.name, shown under the name input
    await modal.locator('input[name="name"]').fill('users');
    expected.push({ method: 'POST', re: /^\/api\/collections$/, status: 400 });
    await modal.getByRole('button', { name: 'Create', exact: true }).click();
    await modal.locator('.generated-error[data-input-name="name"]').waitFor();
    await shot('new-collection-name-taken');
    assert.equal(expected.length, 0, 'the taken name was refused with a 400');
    await modal.locator('input[name="name"]').fill('pb_notes');
    await modal.getByRole('button', { name: 'Create', exact: true }).click();
    await toast('Successfully created collection "pb_notes"').waitFor();
    await page.locator('.page-header .breadcrumbs > div', { hasText: /^pb_notes$/ }).waitFor();
    await settle();
    await shot('new-collection-records');
    const col = await api('/api/collections/pb_notes');
    assert.equal(col.status, 200);
    assert.deepEqual(
      col.body.fields.map((f) => [f.name, f.type]),
      [['id', 'text'], ['text', 'text'], ['number', 'number'], ['bool', 'bool'], ['email', 'email'], ['url', 'url'], ['date', 'date'], ['json', 'json'], ['editor', 'editor'], ['created', 'autodate'], ['updated', 'autodate']],
    );
  });

  walk('records: create and edit one', async () => {
    await openCollection('pb_notes');
    await page.locator('.page-header .new-record-btn').click();
    let modal = topModal();
    await modal.locator('textarea[name="text"]').fill('hello from the pocketbase ui');
    await modal.locator('input[name="number"]').fill('42');
    await modal.locator('input[name="bool"]').check();
    await modal.locator('input[name="email"]').fill('note@example.com');
    await modal.locator('input[name="url"]').fill('https://example.com/x');
    await modal.locator('input[name="date"]').fill('2024-05-06T07:08:09');
    await modal.locator('input[name="date"]').blur();
    // the new record's JSON starts as `null` (the scaffold's value): replace it
    await modal.locator('.field-type-json [role="textbox"]').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('{"a": [1, 2]}');
    await modal.locator('input[name="email"]').click(); // blur the JSON editor: it commits on blur
    await shot('record-new');
    await modal.getByRole('button', { name: 'Create', exact: true }).click();
    await toast('Successfully created pb_notes').waitFor();
    const row = page.locator('tr.handle', { hasText: 'hello from the pocketbase ui' });
    await row.waitFor();
    await settle();
    await shot('records');

    await row.click();
    modal = topModal();
    await modal.locator('textarea[name="text"]').waitFor();
    await settle();
    await modal.locator('textarea[name="text"]').fill('edited from the pocketbase ui');
    await shot('record-edit');
    await modal.getByRole('button', { name: 'Save changes' }).click();
    await toast('Successfully updated pb_notes').waitFor();
    await page.locator('tr.handle', { hasText: 'edited from the pocketbase ui' }).waitFor();
    await closeModals();

    const list = await api('/api/collections/pb_notes/records');
    assert.equal(list.status, 200);
    assert.equal(list.body.items.length, 1);
    const r = list.body.items[0];
    assert.deepEqual(
      [r.text, r.number, r.bool, r.email, r.url, r.date, r.json],
      ['edited from the pocketbase ui', 42, true, 'note@example.com', 'https://example.com/x', '2024-05-06 07:08:09.000Z', { a: [1, 2] }],
    );
  });

  walk('collection settings and API preview', async () => {
    await openCollection('pb_notes');
    await page.locator('.btn-collection-settings').click();
    let modal = topModal();
    await modal.locator('input[name="name"]').waitFor();
    await shot('collection-settings');
    await modal.locator('.tab-item', { hasText: 'API rules' }).click();
    await shot('collection-settings-rules');
    await closeModals();

    await page.locator('.page-header').getByRole('button', { name: 'API preview' }).click();
    modal = topModal();
    await modal.waitFor();
    await settle();
    await page.waitForTimeout(300);
    await shot('api-preview');
    await closeModals();
  });

  walk('users: create one, its panel, Auth providers, impersonate', async () => {
    await openCollection('users');
    await page.locator('.page-header .new-record-btn').click();
    let modal = topModal();
    await modal.locator('input[name="email"]').fill(USER_EMAIL);
    await modal.locator('input[name="password"]').fill('user-password-1');
    await modal.locator('input[name="passwordConfirm"]').fill('user-password-1');
    await modal.locator('textarea[name="name"]').fill('Pat PocketBase');
    await shot('user-new');
    await modal.getByRole('button', { name: 'Create', exact: true }).click();
    await toast('Successfully created users').waitFor();
    const row = page.locator('tr.handle', { hasText: USER_EMAIL });
    await row.waitFor();
    await settle();
    await shot('users');

    await row.click();
    modal = topModal();
    await modal.locator('input[name="email"]').waitFor();
    await settle();
    await shot('user-panel');
    const providersTab = modal.locator('.tab-item', { hasText: 'Auth providers' });
    if (await providersTab.count()) {
      await providersTab.click();
      await modal.getByText('No external auth providers found.').waitFor();
      await shot('user-auth-providers');
      await modal.locator('.tab-item', { hasText: 'Account' }).click();
    }
    await modal.locator('.modal-header button[title="More options"]').click();
    const impersonate = page.locator('.modal-header-dropdown:popover-open').getByRole('button', { name: 'Impersonate' });
    if (await impersonate.count()) {
      await impersonate.click();
      const imp = page.locator('.record-impersonate-auth-modal[data-modal-state="open"]');
      await imp.waitFor();
      await imp.locator('input[name="duration"]').fill('600');
      await imp.getByRole('button', { name: 'Generate token' }).click();
      await imp.locator('.impersonate-success').waitFor();
      const tok = (await imp.locator('.impersonate-success strong').innerText()).trim();
      await shot('user-impersonate');
      const me = await getJson(`${srv.url}/api/collections/users/records?perPage=1`, { headers: { Authorization: tok } });
      assert.equal(me.status, 200, 'the impersonation token works');
    }
    await closeModals();
  });

  walk('_superusers collection', async () => {
    await openCollection('_superusers');
    await page.locator('tr.handle', { hasText: EMAIL }).waitFor();
    await shot('superusers');
    await page.locator('tr.handle', { hasText: EMAIL }).click();
    await topModal().locator('input[name="email"]').waitFor();
    await settle();
    await shot('superuser-panel');
    await closeModals();
  });

  walk('users collection options (auth settings)', async () => {
    await openCollection('users');
    await page.locator('.btn-collection-settings').click();
    const modal = topModal();
    await modal.locator('input[name="name"]').waitFor();
    await modal.locator('.tab-item', { hasText: 'Options' }).click();
    const summaries = modal.locator('details.accordion > summary').filter({ visible: true });
    const n = await summaries.count();
    assert.ok(n > 0, 'the auth options have accordions');
    for (let i = 0; i < n; i++) {
      await summaries.nth(i).click();
      await settle(200);
    }
    await shot('users-options');
    // enable OTP and save: the whole auth collection goes back through PATCH
    const otp = modal.locator('details.otp-accordion');
    if ((await otp.getAttribute('open')) === null) await otp.locator('summary').click();
    await otp.locator('input[name="otp.enabled"]').check();
    await modal.getByRole('button', { name: 'Save changes' }).click();
    const confirm = page.getByRole('button', { name: 'Yes, save changes' });
    const saved = toast('Successfully updated collection "users"');
    await Promise.race([saved.waitFor(), confirm.waitFor().then(() => confirm.click())]);
    await saved.waitFor();
    await closeModals();
    const users = await api('/api/collections/users');
    assert.equal(users.body.otp?.enabled, true, 'OTP is enabled on users');
  });

  walk('logs page: the requests of this walk, listed and charted; one opened', async () => {
    await go('#/logs', '.page-logs');
    // Entries reach the log store about once a second; the page loads what is there when it opens.
    await page.waitForTimeout(1500);
    await page.reload();
    await page.waitForSelector('.page-logs .logs-table tr.log-request', { timeout: 10_000 });
    assert.ok((await page.locator('.page-logs .logs-table tr.log-request').count()) > 0, 'request entries are listed');
    assert.ok(await page.locator('.logs-chart svg, .logs-chart canvas').count() > 0, 'the chart is drawn');
    await page.locator('.page-logs .logs-table tr.log-request').first().click();
    await page.waitForSelector('.log-preview-modal, .modal', { timeout: 5_000 });
    await shot('logs');
    await page.keyboard.press('Escape');
  });

  walk('settings: application (accordions, a rate limit rule, save)', async () => {
    await go('#/settings', '.page-application-settings input[id="meta.appName"]');
    const summaries = page.locator('.page-application-settings details.accordion > summary');
    const n = await summaries.count();
    for (let i = 0; i < n; i++) {
      await summaries.nth(i).click();
      await settle(200);
      await shot(`settings-application-${i + 1}`);
    }
    await page.locator('input[id="meta.appName"]').fill('basalt-pb-ui');
    const rateLimit = page.locator('details.rate-limit-accordion');
    if (await rateLimit.count()) {
      if ((await rateLimit.getAttribute('open')) === null) await rateLimit.locator('summary').click();
      const rules = rateLimit.locator('input[name^="rateLimits.rules."][name$=".label"]');
      const before = await rules.count();
      await rateLimit.getByRole('button', { name: 'Add rate limit rule' }).click();
      await rules.nth(before).fill('/api/pb-ui-test/');
      await rateLimit.locator(`input[name="rateLimits.rules.${before}.maxRequests"]`).fill('1000');
      await rateLimit.locator(`input[name="rateLimits.rules.${before}.duration"]`).fill('60');
      await shot('settings-rate-limits');
    }
    await page.locator('.page-application-settings').getByRole('button', { name: 'Save changes' }).click();
    await toast('Successfully saved application settings.').waitFor();
    await settle();
    await shot('settings-application');
    const s = await api('/api/settings');
    assert.equal(s.body.meta.appName, 'basalt-pb-ui');
    if (s.body.rateLimits) assert.ok(s.body.rateLimits.rules.some((r) => r.label === '/api/pb-ui-test/' && r.maxRequests === 1000 && r.duration === 60), 'the rule is saved');
  });

  walk('settings: mail', async () => {
    await go('#/settings/mail', '.page-mail-settings input[id="meta.senderName"]');
    await shot('settings-mail');
    await page.getByRole('button', { name: 'Send test email' }).click();
    await topModal().waitFor();
    await settle();
    await shot('settings-mail-test');
    await closeModals();
  });

  walk('settings: files storage', async () => {
    await go('#/settings/storage', '.page-storage-settings');
    await page.locator('.page-storage-settings form, .page-storage-settings .alert').first().waitFor();
    await shot('settings-storage');
  });

  walk('settings: backups', async () => {
    await go('#/settings/backups', '.page-backups-settings');
    await page.waitForTimeout(300);
    await shot('settings-backups');
  });

  walk('settings: crons (list, run one)', async () => {
    await go('#/settings/crons', '.list');
    await page.locator('.list .loader, .list .faded').first().waitFor({ state: 'hidden' }).catch(() => {});
    const crons = page.locator('.cron-id');
    await crons.first().waitFor();
    await shot('settings-crons');
    const ids = await crons.allInnerTexts();
    // a harmless one: cleanup jobs
    const i = Math.max(0, ids.findIndex((id) => /cleanup/i.test(id)));
    await page.getByRole('button', { name: 'Run', exact: true }).nth(i).click();
    await toast(`Successfully triggered "${ids[i]}"`).waitFor();
  });

  walk('settings: export collections', async () => {
    await go('#/settings/export-collections', '.page-export-collections');
    await page.getByRole('button', { name: 'Download as JSON' }).waitFor();
    await page.locator('.page-export-collections', { hasText: 'pb_notes' }).waitFor();
    await shot('settings-export');
  });

  walk('settings: import collections (merge a new one)', async () => {
    await go('#/settings/import-collections', '.page-import-collections textarea[name="collections"]');
    await page.waitForFunction(() => !document.querySelector('.page-import-collections .loader'));
    const imported = [{
      id: 'pbc_pbuiimport01',
      name: 'pb_imported',
      type: 'base',
      system: false,
      listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null,
      fields: [
        { id: 'text3208210256', name: 'id', type: 'text', system: true, primaryKey: true, required: true, min: 15, max: 15, pattern: '^[a-z0-9]+$', autogeneratePattern: '[a-z0-9]{15}', hidden: false, presentable: false },
        { id: 'text1579384326', name: 'title', type: 'text', system: false, required: false, min: 0, max: 0, pattern: '', autogeneratePattern: '', primaryKey: false, hidden: false, presentable: false },
      ],
      indexes: [],
    }];
    await page.locator('textarea[name="collections"]').fill(JSON.stringify(imported, null, 2));
    const merge = page.getByLabel('Merge with the existing collections');
    await merge.check();
    await page.locator('.page-import-collections', { hasText: 'pb_imported' }).waitFor();
    await shot('settings-import');
    await page.getByRole('button', { name: 'Review' }).click();
    const modal = topModal();
    await modal.waitFor();
    await shot('settings-import-review');
    await modal.getByRole('button', { name: 'Confirm and import' }).click();
    await toast(/imported/i).waitFor();
    await settle();
    const got = await api('/api/collections/pb_imported');
    assert.equal(got.status, 200, 'the imported collection exists');
    assert.equal(got.body.id, 'pbc_pbuiimport01');
    assert.equal((await api('/api/collections/pb_notes')).status, 200, 'merge kept the others');
  });

  walk('delete a record (bulk bar) and a collection (its settings)', async () => {
    for (const title of ['keep me', 'delete me']) {
      assert.equal((await api('/api/collections/pb_imported/records', { method: 'POST', body: JSON.stringify({ title }) })).status, 200);
    }
    await go('#/collections?collection=pb_imported', '.collections-sidebar');
    await openCollection('pb_imported');
    const row = page.locator('tr.handle', { hasText: 'delete me' });
    await row.waitFor();
    await row.locator('td.col-bulk-select input[type="checkbox"]').check({ force: true });
    await page.locator('.btn.danger', { hasText: 'Delete' }).click();
    await topModal().getByRole('button', { name: 'Yes', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    await page.locator('tr.handle', { hasText: 'keep me' }).waitFor();
    await shot('records-bulk-deleted');

    await page.locator('.btn-collection-settings').click();
    const modal = topModal();
    await modal.locator('input[name="name"]').waitFor();
    await modal.locator('.modal-header button[title="More options"]').click();
    await page.locator('.modal-header-dropdown:popover-open').getByRole('button', { name: 'Delete' }).click();
    // the confirmation is a reused modal that can sit before the collection modal in the DOM
    const confirm = page.locator('.modal[data-modal-state="open"]').filter({ has: page.locator('input[id$=".confirm_name"]') });
    await confirm.locator('input[id$=".confirm_name"]').fill('pb_imported');
    await shot('collection-delete');
    await confirm.getByRole('button', { name: 'Yes', exact: true }).click();
    await toast('Successfully deleted collection "pb_imported"').waitFor();
    await sidebarItem('pb_imported').waitFor({ state: 'detached' });
    await closeModals();
    assert.equal((await api('/api/collections/pb_imported')).status, 404);
  });

  walk('settings: SQL console', async () => {
    await go('#/settings/sql', '.sql-console-field');
    await page.locator('.sql-console-field [role="textbox"]').click();
    await page.keyboard.type('SELECT id, email, verified FROM _superusers');
    await page.getByRole('button', { name: 'Execute' }).click();
    await page.locator('.page-table-wrapper', { hasText: EMAIL }).waitFor();
    await shot('settings-sql');
  });

  walk('sign out, request a password reset', async () => {
    await page.locator('.logged-user').click();
    await page.locator('.dropdown-item-logout').click();
    await page.locator('#login_identity').waitFor();
    await page.getByRole('link', { name: 'Forgotten password' }).click();
    await page.locator('#password_reset_email').fill(EMAIL);
    await shot('password-reset');
    await page.getByRole('button', { name: 'Send recovery link' }).click();
    await page.getByText('for the recovery link!').waitFor();
    await shot('password-reset-sent');
  });

  test('no API answers PocketBase would not give, no console or page errors', async (t) => {
    current = 'report';
    await Promise.allSettled(bodyReads);
    const total = Date.now() - started;
    const report = { dashboard: dash.source, version: dashboardVersion(dash.dir), totalMs: total, timings, problems, notBuilt, warnings, calls };
    writeFileSync(path.join(artifacts, 'pb-report.json'), JSON.stringify(report, null, 2));
    t.diagnostic(`PocketBase dashboard ${report.version} from ${dash.source}; walk took ${(total / 1000).toFixed(1)} s`);
    for (const x of timings) t.diagnostic(`  ${(x.ms / 1000).toFixed(1).padStart(5)} s  ${x.step}`);
    const fmt = (p) =>
      p.kind === 'api' || p.kind === 'asset'
        ? `[${p.step}] ${p.method} ${p.path} -> ${p.status} ${p.body.replace(/\s+/g, ' ').slice(0, 200)}${p.request ? ` (sent ${p.request.replace(/\s+/g, ' ').slice(0, 120)})` : ''}`
        : p.kind === 'network'
          ? `[${p.step}] ${p.method} ${p.path} -> ${p.error}`
          : `[${p.step}] ${p.kind}: ${p.text}`;
    for (const p of notBuilt) t.diagnostic(`not built (allowed): ${fmt(p)} (${p.why})`);
    for (const w of warnings) t.diagnostic(`console warning: [${w.step}] ${w.text}`);
    assert.ok(problems.length === 0, `${problems.length} problem(s):\n` + problems.map(fmt).join('\n'));
  });
});
