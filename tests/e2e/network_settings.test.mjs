// Settings → Rate limits and Network in Debian's headless Chromium (playwright-core) against the
// real basalt binary: rules edited, saved and read back after a reload; client-side checks; a
// server-side error shown on its field; a rule saved in the dashboard answering 429; proxy headers
// from the chips; the superuser-IPs lock-out question, cancelled and confirmed. The panels' pure
// helpers (web/admin/src/{ip,ratelimits,network}.js) are tested here too, without a browser. Each
// failure leaves a screenshot in tests/e2e/artifacts/; SCREENSHOTS=docs/admin refreshes the tour's
// pictures of the two panels.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { getJson, startServer } from '../api/helpers.mjs';
import { allowedBy, contains, parseIp, parseNetwork, validateIpList } from '../../web/admin/src/ip.js';
import { DEFAULT_RULES, labelKind, normalizeRateLimits, validLabel, validateRateLimits, isDirty, snapshot } from '../../web/admin/src/ratelimits.js';
import { addHeader, locksOut, validateNetwork } from '../../web/admin/src/network.js';
import { bodyLost } from '../../web/admin/src/response.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const tour = process.env.SCREENSHOTS ? path.resolve(here, '../..', process.env.SCREENSHOTS) : null;
const SU = { email: 'net@example.com', password: 'net-password-1' };

describe('pure helpers of the rate-limits and network panels', () => {
  test('IPs and CIDR networks are read as the server reads them', () => {
    assert.deepEqual(parseIp('127.0.0.1').bytes.slice(10), [0xff, 0xff, 127, 0, 0, 1]);
    assert.equal(parseIp('::ffff:127.0.0.1').v4, true);
    assert.equal(parseIp('::1').v4, false);
    assert.deepEqual(parseIp('2001:db8::1').bytes, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1::2::3', '1:2:3:4:5:6:7:8:9', 'localhost', '[::1]', ' 1.2.3.4']) {
      assert.equal(parseIp(bad), null, bad);
    }
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/x', '::/129', '/8']) assert.equal(parseNetwork(bad), null, bad);
    const net = parseNetwork('10.0.0.0/8');
    assert.ok(contains(net, parseIp('10.200.3.4')));
    assert.ok(contains(net, parseIp('::ffff:10.1.1.1')));
    assert.ok(!contains(net, parseIp('11.0.0.1')));
    assert.ok(contains(parseNetwork('fd00::/8'), parseIp('fd12::5')));
    assert.ok(contains(parseNetwork('0.0.0.0/0'), parseIp('8.8.8.8')));
    assert.ok(!contains(parseNetwork('0.0.0.0/0'), parseIp('2001:db8::1')), 'an IPv4 network holds IPv4 clients only');
    assert.deepEqual(validateIpList(['10.0.0.1', ' ', 'nope'], 'superuserIPs'), {
      'superuserIPs.1': 'Cannot be blank.',
      'superuserIPs.2': 'Must be an IP address or a CIDR network (like 10.0.0.0/8).',
    });
  });

  test('labels, rule checks and dirty tracking', () => {
    for (const ok of ['users:create', '*:auth', '*:file', 'my_tag', '/api/batch', '/api/', 'POST /api/collections/', '/']) assert.ok(validLabel(ok), ok);
    for (const bad of ['', 'bad label!', 'users:', ':x', '*', 'POST api', 'a:b:c', '/api/x?y']) assert.ok(!validLabel(bad), bad);
    assert.equal(labelKind('*:create'), 'wildcard tag');
    assert.equal(labelKind('POST /api/'), 'method + path prefix');
    assert.equal(labelKind('/api/batch'), 'exact path');
    const rule = { label: '/api/', audience: '', duration: 10, maxRequests: 300 };
    assert.deepEqual(validateRateLimits({ enabled: true, rules: [rule], excludedIPs: [] }), {});
    assert.deepEqual(Object.keys(validateRateLimits({ enabled: true, rules: [], excludedIPs: [] })), ['rateLimits.rules']);
    const errors = validateRateLimits({
      enabled: false,
      excludedIPs: ['x'],
      rules: [
        { ...rule, label: '  ', duration: 1.5 },
        { ...rule, audience: 'admins', maxRequests: 0, duration: null },
      ],
    });
    assert.deepEqual(Object.keys(errors).sort(), [
      'rateLimits.excludedIPs.0',
      'rateLimits.rules.0.duration',
      'rateLimits.rules.0.label',
      'rateLimits.rules.1.audience',
      'rateLimits.rules.1.duration',
      'rateLimits.rules.1.maxRequests',
    ]);
    const form = { enabled: true, excludedIPs: [' 10.0.0.1 '], rules: [{ ...rule, label: ' /api/ ' }] };
    assert.deepEqual(normalizeRateLimits(form), { enabled: true, excludedIPs: ['10.0.0.1'], rules: [rule] });
    const snap = snapshot(normalizeRateLimits(form));
    assert.ok(!isDirty(normalizeRateLimits({ ...form, rules: [{ ...rule }] }), snap), 'spaces alone change nothing');
    assert.ok(isDirty(normalizeRateLimits({ ...form, enabled: false }), snap));
  });

  test('a body lost mid-download is told from an empty answer', () => {
    // The SDK turns a body it could not read (a reload while the settings download) into {}: the
    // panel then rendered a settings object without its sections (this suite's openSettings hit it).
    const res = (status, length) => new Response(null, { status, headers: length === null ? {} : { 'Content-Length': String(length) } });
    assert.ok(bodyLost(res(200, 1172), {}));
    assert.ok(!bodyLost(res(200, 2), {}), 'an announced {} is an answer');
    assert.ok(!bodyLost(res(200, 1172), { meta: {} }));
    assert.ok(!bodyLost(res(200, 1172), []), 'an empty list is data');
    assert.ok(!bodyLost(res(204, null), {}));
    assert.ok(!bodyLost(res(404, 80), {}), 'errors go their own way');
    assert.ok(!bodyLost(res(200, null), {}), 'without a length nothing is known');
  });

  test('proxy headers and the superuser-IPs lock-out check', () => {
    assert.deepEqual(addHeader(['x-real-ip'], 'X-Real-IP'), ['x-real-ip']);
    assert.deepEqual(addHeader([], 'Fly-Client-IP'), ['Fly-Client-IP']);
    const n = { trustedProxy: { headers: ['X-Real-IP', '', 'Bad Header'], useLeftmostIP: false, proxies: ['10.0.0.0/8'] }, superuserIPs: ['1.2.3.4/40'] };
    assert.deepEqual(Object.keys(validateNetwork(n)), ['trustedProxy.headers.1', 'trustedProxy.headers.2', 'superuserIPs.0']);
    assert.equal(locksOut([], '127.0.0.1'), false);
    assert.equal(locksOut(['127.0.0.0/8'], '127.0.0.1'), false);
    assert.equal(locksOut(['::ffff:127.0.0.1'], '127.0.0.1'), false);
    assert.equal(locksOut(['10.0.0.0/8'], '127.0.0.1'), true);
    assert.equal(locksOut(['10.0.0.0/8'], ''), true, 'an unknown address counts as outside');
    assert.equal(allowedBy(['not-an-ip', '::1'], '::1'), true);
  });
});

describe('settings: rate limits and network in the dashboard', () => {
  let srv;
  let browser;
  let page;
  let token;
  const consoleErrors = [];
  const api = (p, opts = {}) => getJson(srv.url + p, { ...opts, headers: { Authorization: token, 'Content-Type': 'application/json', ...(opts.headers || {}) } });

  before(async () => {
    srv = await startServer({ superuser: SU });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      // The browser reports every 4xx answer; the tests cause some on purpose.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e) + '\n' + (e.stack || '')));
    // The panels ask in the page, never with window.confirm: a native dialog here is a bug.
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
    await page.getByRole('link', { name: 'Settings' }).waitFor();
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
      await page.screenshot({ path: path.join(artifacts, 'network-' + name.replace(/\W+/g, '-') + '.png'), fullPage: true }).catch(() => {});
      throw e;
    }
  }
  const shot = async (name, locator) => tour && locator.screenshot({ path: path.join(tour, name + '.png') });
  const rl = () => page.getByRole('form', { name: 'Rate limits' });
  const net = () => page.getByRole('form', { name: 'Network' });
  const openSettings = async () => {
    await page.goto(srv.url + '/_/#/settings');
    await page.reload();
    await rl().getByLabel('Rule 1 label').waitFor();
  };

  test("the dashboard's default rules are the server's fresh-install ones", async () => {
    const s = await api('/api/settings');
    assert.equal(s.status, 200);
    assert.deepEqual(s.body.rateLimits.rules, DEFAULT_RULES);
  });

  test('rules: client checks, server error on its field, saved, read back after a reload, enforced', async () => {
    await step('open', openSettings);

    await step('client-side checks', async () => {
      await rl().getByRole('button', { name: 'Remove rule 4' }).click();
      await rl().getByRole('button', { name: '+ Add rule' }).click();
      await rl().getByLabel('Rule 4 duration').fill('1.5');
      await rl().getByRole('button', { name: 'Save rate limits' }).click();
      await rl().getByRole('alert').filter({ hasText: 'Fix the marked fields' }).waitFor();
      const row = rl().locator('[data-rule-row="3"]');
      assert.equal(await row.locator('.error').count(), 2);
      assert.match(await row.locator('td').nth(0).locator('.error').innerText(), /blank/);
      assert.match(await row.locator('td').nth(2).locator('.error').innerText(), /whole number/);
    });

    await step('server-side error next to its field', async () => {
      // Same label and audience as rule 2: only the server decides what conflicts.
      await rl().getByLabel('Rule 4 label').fill('*:create');
      await rl().getByLabel('Rule 4 duration').fill('60');
      await rl().getByRole('button', { name: 'Save rate limits' }).click();
      const err = rl().locator('[data-rule-row="3"] td').nth(0).locator('.error');
      await err.waitFor();
      assert.match(await err.innerText(), /already exists/);
      await shot('settings-rate-limits', rl());
      await rl().getByRole('alert').waitFor();
      assert.deepEqual((await api('/api/settings')).body.rateLimits.rules, DEFAULT_RULES, 'nothing was saved');
    });

    await step('edit and save', async () => {
      await rl().getByLabel('Rule 4 label').fill('GET /api/health');
      await rl().getByLabel('Rule 4 audience').selectOption('@guest');
      await rl().getByLabel('Rule 4 max requests').fill('2');
      await rl().getByLabel('Rule 1 max requests').fill('5');
      await rl().getByLabel('Enable rate limiting').check();
      await rl().getByRole('button', { name: 'Save rate limits' }).click();
      await rl().getByRole('status').filter({ hasText: 'Rate limits updated.' }).waitFor();
      assert.ok(await rl().getByRole('button', { name: 'Save rate limits' }).isDisabled(), 'nothing left to save');
    });

    await step('read back after a reload', async () => {
      await openSettings();
      assert.ok(await rl().getByLabel('Enable rate limiting').isChecked());
      assert.equal(await rl().getByLabel('Rule 1 max requests').inputValue(), '5');
      assert.equal(await rl().getByLabel('Rule 4 label').inputValue(), 'GET /api/health');
      assert.equal(await rl().getByLabel('Rule 4 audience').inputValue(), '@guest');
      assert.equal(await rl().getByLabel('Rule 4 duration').inputValue(), '60');
      const s = (await api('/api/settings')).body.rateLimits;
      assert.equal(s.enabled, true);
      assert.deepEqual(s.rules[3], { label: 'GET /api/health', audience: '@guest', duration: 60, maxRequests: 2 });
    });

    await step('the saved rule answers 429', async () => {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await getJson(srv.url + '/api/health')).status);
      assert.deepEqual(statuses, [200, 200, 429]);
      // Superusers (the dashboard's own requests) are never limited.
      assert.equal((await api('/api/health')).status, 200);
    });

    await step('reset to defaults, off again', async () => {
      await rl().getByRole('button', { name: 'Reset to defaults' }).click();
      assert.equal(await rl().getByLabel('Rule 4 label').inputValue(), '/api/');
      await rl().getByLabel('Enable rate limiting').uncheck();
      await rl().getByRole('button', { name: 'Save rate limits' }).click();
      await rl().getByRole('status').filter({ hasText: 'Rate limits updated.' }).waitFor();
      const s = (await api('/api/settings')).body.rateLimits;
      assert.deepEqual(s, { enabled: false, excludedIPs: [], rules: DEFAULT_RULES });
    });
  });

  test('network: proxy headers from the chips, superuser IPs and the lock-out question', async () => {
    await step('open', openSettings);

    await step('proxy headers', async () => {
      await net().locator('[data-real-ip]').filter({ hasText: '127.0.0.1' }).waitFor();
      await net().getByRole('button', { name: 'Add header X-Real-IP' }).click();
      await net().getByRole('button', { name: 'Add header CF-Connecting-IP' }).click();
      assert.equal(await net().getByRole('button', { name: 'Add header X-Real-IP' }).count(), 0, 'a chip goes once its header is listed');
      assert.equal(await net().getByLabel('Proxy header 2', { exact: true }).inputValue(), 'CF-Connecting-IP');
      await net().getByRole('button', { name: 'Remove Proxy header 2' }).click();
      await net().getByLabel('Use the leftmost IP').check();
      await net().getByRole('button', { name: 'Save network settings' }).click();
      await net().getByRole('status').filter({ hasText: 'Network settings updated.' }).waitFor();
      const s = (await api('/api/settings')).body;
      assert.deepEqual(s.trustedProxy, { headers: ['X-Real-IP'], useLeftmostIP: true, proxies: [] });
    });

    await step('invalid superuser IP', async () => {
      await net().getByRole('button', { name: '+ Add Superuser IP' }).click();
      await net().getByLabel('Superuser IP 1', { exact: true }).fill('10.0.0.0/33');
      await net().getByRole('button', { name: 'Save network settings' }).click();
      await net().locator('.error', { hasText: 'CIDR' }).waitFor();
    });

    await step('lock-out question, cancelled', async () => {
      await net().getByLabel('Superuser IP 1', { exact: true }).fill('10.0.0.0/8');
      await net().getByRole('button', { name: 'Save network settings' }).click();
      const question = net().getByRole('alertdialog', { name: 'This would lock you out' });
      await question.waitFor();
      assert.match(await question.innerText(), /127\.0\.0\.1/);
      await shot('settings-network', net());
      await question.getByRole('button', { name: 'Cancel' }).click();
      await question.waitFor({ state: 'detached' });
      assert.deepEqual((await api('/api/settings')).body.superuserIPs, [], 'the old setting is kept');
      assert.equal(await net().getByLabel('Superuser IP 1', { exact: true }).inputValue(), '10.0.0.0/8', 'the edit stays in the form');
      await openSettings();
      assert.equal(await net().getByLabel('Superuser IP 1', { exact: true }).count(), 0);
    });

    await step('a list that holds this browser saves without asking', async () => {
      await net().getByRole('button', { name: '+ Add Superuser IP' }).click();
      await net().getByLabel('Superuser IP 1', { exact: true }).fill('10.0.0.0/8');
      await net().getByRole('button', { name: '+ Add Superuser IP' }).click();
      await net().getByLabel('Superuser IP 2', { exact: true }).fill('127.0.0.0/8');
      await net().getByRole('button', { name: 'Save network settings' }).click();
      await net().getByRole('status').filter({ hasText: 'Network settings updated.' }).waitFor();
      assert.equal(await net().getByRole('alertdialog').count(), 0);
      assert.deepEqual((await api('/api/settings')).body.superuserIPs, ['10.0.0.0/8', '127.0.0.0/8']);
    });

    await step('confirmed: the list is saved and this browser is shut out', async () => {
      await net().getByRole('button', { name: 'Remove Superuser IP 2' }).click();
      await net().getByRole('button', { name: 'Save network settings' }).click();
      await net().getByRole('alertdialog').getByRole('button', { name: 'Save anyway' }).click();
      await net().getByRole('status').filter({ hasText: 'Network settings updated.' }).waitFor();
      const refused = await api('/api/settings');
      assert.equal(refused.status, 403, 'superuser requests from 127.0.0.1 are now refused');
    });
  });

  test('no console errors', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
