// settings.rateLimits as PocketBase (labels, audiences, matching order, 429 shape, validation) and
// what basalt adds: a smooth limiter keyed by client IP or auth record, the IETF RateLimit headers
// and Retry-After, the client IP taken from trusted proxies only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

describe('rate limits', () => {
  let srv;
  let su;
  const limits = (rules, extra = {}) => su.settings.update({ rateLimits: { enabled: true, excludedIPs: [], rules, ...extra } });
  const post = (coll, headers = {}) =>
    getJson(`${srv.url}/api/collections/${coll}/records`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ title: 'x' }),
    });

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    for (const name of ['notes', 'other']) {
      await su.collections.create({ name, listRule: '', viewRule: '', createRule: '', fields: [{ name: 'title', type: 'text' }] });
    }
    await su.collection('users').create({ email: 'u@example.com', password: 'user-password-1', passwordConfirm: 'user-password-1' });
  });
  after(async () => srv && (await srv.stop()));

  test("PocketBase's defaults on a fresh install: off, four rules", async () => {
    const s = await su.settings.getAll();
    assert.equal(s.rateLimits.enabled, false);
    assert.deepEqual(s.rateLimits.rules.map((r) => r.label), ['*:auth', '*:create', '/api/batch', '/api/']);
    for (let i = 0; i < 20; i++) assert.equal((await getJson(`${srv.url}/api/health`)).status, 200);
  });

  test('a *:create rule: per collection, 429 in the error shape with Retry-After and RateLimit headers', async () => {
    await limits([{ label: '*:create', audience: '', duration: 10, maxRequests: 3 }]);
    for (let i = 0; i < 3; i++) {
      const r = await post('notes');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.headers.get('ratelimit-policy'), '"*:create";q=3;w=10');
      assert.match(r.headers.get('ratelimit'), new RegExp(`^"\\*:create";r=${2 - i};t=\\d+$`));
    }
    const refused = await post('notes');
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.body, { status: 429, message: 'Too Many Requests.', data: {} });
    const retry = Number(refused.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 4, `Retry-After ${retry}`);
    assert.match(refused.headers.get('ratelimit'), /;r=0;/);
    // Another collection has its own bucket; reads are not creates; superusers are never limited.
    assert.equal((await post('other')).status, 200);
    assert.equal((await getJson(`${srv.url}/api/collections/notes/records`)).status, 200);
    const suPost = await post('notes', { Authorization: su.authStore.token });
    assert.equal(suPost.status, 200);
    assert.equal(suPost.headers.get('ratelimit'), null);
  });

  test('a collection tag wins over *:tag; audiences split guests from signed-in users', async () => {
    await limits([
      { label: 'notes:list', audience: '@guest', duration: 60, maxRequests: 1 },
      { label: '*:list', audience: '', duration: 60, maxRequests: 100 },
    ]);
    assert.equal((await getJson(`${srv.url}/api/collections/notes/records`)).status, 200);
    assert.equal((await getJson(`${srv.url}/api/collections/notes/records`)).status, 429);
    assert.equal((await getJson(`${srv.url}/api/collections/other/records`)).status, 200);
    const user = new PocketBase(srv.url);
    await user.collection('users').authWithPassword('u@example.com', 'user-password-1');
    const asUser = await getJson(`${srv.url}/api/collections/notes/records`, { headers: { Authorization: user.authStore.token } });
    assert.equal(asUser.status, 200);
    assert.equal(asUser.headers.get('ratelimit-policy'), '"*:list";q=100;w=60');
  });

  test('path prefixes and METHOD /path rules, and excludedIPs', async () => {
    await limits([
      { label: 'GET /api/health', audience: '', duration: 60, maxRequests: 2 },
      { label: '/api/', audience: '', duration: 60, maxRequests: 1000 },
    ]);
    assert.equal((await getJson(`${srv.url}/api/health`)).status, 200);
    assert.equal((await getJson(`${srv.url}/api/health`)).status, 200);
    assert.equal((await getJson(`${srv.url}/api/health`)).status, 429);
    const prefixed = await getJson(`${srv.url}/api/collections/notes/records`);
    assert.equal(prefixed.status, 200);
    assert.equal(prefixed.headers.get('ratelimit-policy'), '"/api/";q=1000;w=60');
    await limits([{ label: 'GET /api/health', audience: '', duration: 60, maxRequests: 1 }], { excludedIPs: ['127.0.0.0/8'] });
    for (let i = 0; i < 5; i++) assert.equal((await getJson(`${srv.url}/api/health`)).status, 200);
  });

  test("a record request counts once: in its collection's bucket, not also in a path rule's (PocketBase's route limiter replaces the global one)", async () => {
    await limits([{ label: '/api/', audience: '', duration: 60, maxRequests: 3 }]);
    for (let i = 0; i < 3; i++) assert.equal((await getJson(`${srv.url}/api/collections/notes/records`)).status, 200);
    assert.equal((await getJson(`${srv.url}/api/collections/notes/records`)).status, 429, "notes' list bucket is spent");
    // Each collection and route has its own bucket under the same rule, and the path rule's own
    // bucket (other API requests) was not touched by the lists.
    assert.equal((await getJson(`${srv.url}/api/collections/other/records`)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await getJson(`${srv.url}/api/health`)).status, 200, `health ${i}`);
    assert.equal((await getJson(`${srv.url}/api/health`)).status, 429);
  });

  test('the client IP comes from trusted proxies only: a forged X-Forwarded-For does not escape a limit', async () => {
    await limits([{ label: 'GET /api/health', audience: '', duration: 60, maxRequests: 1 }]);
    // Loopback is not among the trusted proxies: X-Forwarded-For is ignored, every request is 127.0.0.1.
    await su.settings.update({ trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: false, proxies: ['10.9.9.9'] } });
    const forged = (ip) => getJson(`${srv.url}/api/health`, { headers: { 'X-Forwarded-For': ip } });
    assert.equal((await forged('203.0.113.1')).status, 200);
    assert.equal((await forged('203.0.113.2')).status, 429);
    // With loopback trusted (no proxies listed), each client behind the proxy has its own limit.
    await su.settings.update({ trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: false, proxies: [] } });
    assert.equal((await forged('203.0.113.3')).status, 200);
    assert.equal((await forged('203.0.113.4')).status, 200);
    assert.equal((await forged('203.0.113.3')).status, 429);
    await su.settings.update({ trustedProxy: { headers: [], useLeftmostIP: false, proxies: [] } });
  });

  test('invalid rules are refused as PocketBase refuses them', async () => {
    const bad = async (rateLimits, field) => {
      await assert.rejects(su.settings.update({ rateLimits }), (e) => {
        assert.equal(e.status, 400);
        // PocketBase nests field errors: {"rateLimits":{"rules":{"0":{"label":{code,message}}}}}.
        const found = field.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), e.response.data);
        assert.ok(found?.code, `${field} in ${JSON.stringify(e.response.data)}`);
        return true;
      });
    };
    const rule = { label: '/api/', audience: '', duration: 1, maxRequests: 1 };
    await bad({ enabled: true, rules: [] }, 'rateLimits.rules');
    await bad({ rules: [{ ...rule, label: 'bad label!' }] }, 'rateLimits.rules.0.label');
    await bad({ rules: [{ ...rule, audience: 'admins' }] }, 'rateLimits.rules.0.audience');
    await bad({ rules: [{ ...rule, duration: 0 }] }, 'rateLimits.rules.0.duration');
    await bad({ rules: [{ ...rule, maxRequests: 0 }] }, 'rateLimits.rules.0.maxRequests');
    await bad({ rules: [rule, rule] }, 'rateLimits.rules.1.label');
    await bad({ excludedIPs: ['not-an-ip'] }, 'rateLimits.excludedIPs.0');
    await su.settings.update({ rateLimits: { enabled: false, rules: [rule], excludedIPs: [] } });
  });

  test('duration and maxRequests are positive integers; trustedProxy.headers are non-empty strings', async () => {
    const rule = { label: '/api/', audience: '', duration: 1, maxRequests: 1 };
    const refused = async (body, field, code) => {
      await assert.rejects(su.settings.update(body), (e) => {
        assert.equal(e.status, 400);
        const found = field.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), e.response.data);
        assert.equal(found?.code, code, `${field} in ${JSON.stringify(e.response.data)}`);
        return true;
      });
    };
    // PocketBase decodes these into int64/int and refuses a fraction as unreadable; basalt names the field.
    await refused({ rateLimits: { rules: [{ ...rule, duration: 1.5 }] } }, 'rateLimits.rules.0.duration', 'validation_only_int_constraint');
    await refused({ rateLimits: { rules: [{ ...rule, maxRequests: 2.25 }] } }, 'rateLimits.rules.0.maxRequests', 'validation_only_int_constraint');
    await refused({ rateLimits: { rules: [{ ...rule, maxRequests: -3 }] } }, 'rateLimits.rules.0.maxRequests', 'validation_min_greater_equal_than_required');
    await refused({ rateLimits: { rules: [{ ...rule, duration: '5' }] } }, 'rateLimits.rules.0.duration', 'validation_invalid_value');
    await refused({ rateLimits: { rules: [{ label: '/api/', audience: '' }] } }, 'rateLimits.rules.0.duration', 'validation_required');
    await refused({ rateLimits: { rules: [{ ...rule, duration: 1e30 }] } }, 'rateLimits.rules.0.duration', 'validation_max_less_equal_than_required');
    await refused({ trustedProxy: { headers: ['X-Real-IP', 42] } }, 'trustedProxy.headers.1', 'validation_invalid_value');
    await refused({ trustedProxy: { headers: ['  '] } }, 'trustedProxy.headers.0', 'validation_required');
    // PocketBase's conflict check: the same label twice, or for everyone and for one audience.
    const conflict = 'validation_conflicting_rate_limit_rule';
    await refused({ rateLimits: { rules: [rule, rule] } }, 'rateLimits.rules.1.label', conflict);
    await refused({ rateLimits: { rules: [{ ...rule, label: 'users:auth' }, { ...rule, label: 'users:auth', audience: '@guest' }] } }, 'rateLimits.rules.1.label', conflict);
    await refused({ rateLimits: { rules: [{ ...rule, label: 'users:auth', audience: '@auth' }, { ...rule, label: 'users:auth' }] } }, 'rateLimits.rules.1.label', conflict);
    const split = await su.settings.update({
      rateLimits: { enabled: false, rules: [{ ...rule, label: 'users:auth', audience: '@guest' }, { ...rule, label: 'users:auth', audience: '@auth' }, { ...rule, label: '/api/batch' }, rule] },
    });
    assert.equal(split.rateLimits.rules.length, 4, 'one label per audience, and a path beside its prefix, do not conflict');
    // A refused patch changes nothing.
    const s = await su.settings.update({ rateLimits: { enabled: false, rules: [{ ...rule, duration: 2.0 }], excludedIPs: [] } });
    assert.deepEqual(s.rateLimits.rules, [{ ...rule, duration: 2 }]);
    assert.deepEqual(s.trustedProxy.headers, []);
  });

  test('GET /api/health tells a superuser the IP the server sees (realIP), which superuserIPs is checked against', async () => {
    const guest = await getJson(`${srv.url}/api/health`);
    assert.deepEqual(guest.body.data, {});
    const seen = await getJson(`${srv.url}/api/health`, { headers: { Authorization: su.authStore.token } });
    assert.equal(seen.body.data.realIP, '127.0.0.1');
  });
});
