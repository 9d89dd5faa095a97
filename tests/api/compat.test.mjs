// PocketBase wire-compatibility checks for admin/dashboard endpoints and error codes.
// Each test asserts what PocketBase (v0.39.x source) does; see .notes/compat-spec.md for the evidence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

/** Starts a server, signs in as superuser; returns {srv, pb, send(method, path, body, {auth})}. */
async function boot() {
  const srv = await startServer({ superuser: SU });
  const pb = new PocketBase(srv.url);
  await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
  const send = (method, path, body, { auth = true } = {}) =>
    getJson(srv.url + path, {
      method,
      headers: {
        ...(auth ? { Authorization: pb.authStore.token } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return { srv, pb, send };
}

const GENERIC_400 = { data: {}, message: 'Something went wrong while processing your request.', status: 400 };

// a. apis/collection.go collectionsList: filter/sort fields are id, created, updated, name, system, type.
test('a. GET /api/collections filters and sorts over id/created/updated/name/system/type only', async () => {
  const { srv, pb, send } = await boot();
  try {
    await pb.collections.create({ name: 'zeta', type: 'base', fields: [{ name: 'title', type: 'text' }] });
    await pb.collections.create({ name: 'alpha', type: 'base', fields: [{ name: 'title', type: 'text' }] });

    const sys = await send('GET', '/api/collections?perPage=100&filter=' + encodeURIComponent('system=true'));
    assert.equal(sys.status, 200);
    assert.ok(sys.body.items.length > 0);
    assert.ok(sys.body.items.every((c) => c.system === true), 'only system collections');
    assert.ok(sys.body.items.some((c) => c.name === '_superusers'));
    assert.ok(!sys.body.items.some((c) => c.name === 'users' || c.name === 'alpha'));

    const byType = await send(
      'GET',
      '/api/collections?perPage=100&filter=' + encodeURIComponent("type='base' && system=false && name~'a'"),
    );
    assert.equal(byType.status, 200);
    assert.deepEqual(byType.body.items.map((c) => c.name).sort(), ['alpha', 'zeta']);

    const sorted = await send('GET', '/api/collections?perPage=100&sort=-name');
    assert.equal(sorted.status, 200);
    const names = sorted.body.items.map((c) => c.name);
    assert.deepEqual(names, [...names].sort().reverse());

    const byCreated = await send('GET', '/api/collections?perPage=100&sort=-created,id&filter=' + encodeURIComponent("id!='' && updated!=''"));
    assert.equal(byCreated.status, 200);

    // anything else -> 400 with the generic message and empty data
    for (const q of [
      'filter=' + encodeURIComponent("listRule=''"),
      'filter=' + encodeURIComponent("foo='x'"),
      'filter=' + encodeURIComponent("fields~'x'"),
      'sort=-foo',
      'sort=viewQuery',
      'filter=' + encodeURIComponent('name=='),
    ]) {
      const r = await send('GET', '/api/collections?' + q);
      assert.equal(r.status, 400, q);
      assert.deepEqual(r.body, GENERIC_400, q);
    }
  } finally {
    await srv.stop();
  }
});

// b. apis/collection.go collectionListOAuth2Providers.
test('b. GET /api/collections/meta/oauth2-providers lists every provider as {name, displayName, logo}', async () => {
  const { srv, pb, send } = await boot();
  try {
    const guest = await send('GET', '/api/collections/meta/oauth2-providers', undefined, { auth: false });
    assert.equal(guest.status, 401);
    assert.deepEqual(guest.body.data, {});

    const list = await pb.collections.getAllOAuth2Providers();
    assert.ok(Array.isArray(list));
    assert.ok(list.length >= 30);
    for (const p of list) {
      assert.deepEqual(Object.keys(p), ['name', 'displayName', 'logo']);
      assert.equal(typeof p.logo, 'string');
      assert.match(p.logo, /^<svg/);
    }
    const names = list.map((p) => p.name);
    // PocketBase's providers sorted by its internal order, ties by name. Deviation (the brief for
    // this work): the providers basalt can sign in with come first, each group in that order.
    const pbOrder = [
      'apple', 'google', 'microsoft', 'yandex', 'facebook', 'instagram2', 'github', 'gitlab', 'bitbucket', 'gitee',
      'gitea', 'discord', 'twitter', 'kakao', 'vk', 'linear', 'notion', 'monday', 'lark', 'box', 'spotify', 'trakt',
      'twitch', 'patreon', 'strava', 'wakatime', 'livechat', 'mailcow', 'planningcenter', 'oidc', 'oidc2', 'oidc3',
    ];
    const supported = ['google', 'microsoft', 'github', 'gitlab', 'discord', 'oidc', 'oidc2', 'oidc3'];
    assert.deepEqual(names, [...pbOrder.filter((n) => supported.includes(n)), ...pbOrder.filter((n) => !supported.includes(n))]);
    const byName = Object.fromEntries(list.map((p) => [p.name, p]));
    assert.equal(byName.google.displayName, 'Google');
    assert.equal(byName.github.displayName, 'GitHub');
    assert.equal(byName.twitter.displayName, 'X/Twitter');
    assert.equal(byName.oidc3.displayName, 'OIDC');
    for (const n of ['discord', 'gitea', 'spotify', 'twitch', 'patreon', 'planningcenter', 'bitbucket', 'box', 'livechat', 'monday', 'wakatime']) {
      assert.ok(byName[n], n);
    }
  } finally {
    await srv.stop();
  }
});

// c. apis/collection.go collectionDryRunView + core/view.go DryRunView.
test('c. POST /api/collections/meta/dry-run-view previews fields and a sample without saving', async () => {
  const { srv, pb, send } = await boot();
  try {
    const before = (await pb.collections.getFullList()).length;

    const guest = await send('POST', '/api/collections/meta/dry-run-view', { query: 'select 1 as id' }, { auth: false });
    assert.equal(guest.status, 401);

    const res = await pb.collections.dryRunViewQuery('select 1 as id');
    assert.deepEqual(Object.keys(res).sort(), ['fields', 'sample']);
    assert.ok(Array.isArray(res.fields));
    const id = res.fields.find((f) => f.name === 'id');
    assert.ok(id);
    assert.equal(id.type, 'text');
    assert.equal(id.primaryKey, true);
    assert.equal(res.sample.length, 1);
    assert.equal(res.sample[0].id, '1');
    assert.equal(typeof res.sample[0].collectionId, 'string');
    assert.match(res.sample[0].collectionName, /^temp_view_/);

    // fields come from the source collection; the sample is capped at 10 rows
    await pb.collections.create({ name: 'nums', fields: [{ name: 'title', type: 'text' }] });
    for (let i = 0; i < 12; i++) await pb.collection('nums').create({ title: 't' + i });
    const many = await pb.collections.dryRunViewQuery('select id, title from nums');
    assert.equal(many.fields.find((f) => f.name === 'title').type, 'text');
    assert.equal(many.sample.length, 10);
    assert.ok(many.sample.every((r) => r.title.startsWith('t')));
    const after = (await pb.collections.getFullList()).length;
    assert.equal(after, before + 1, 'only nums was created');

    const empty = await send('POST', '/api/collections/meta/dry-run-view', { query: '' });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.data.query.code, 'validation_required');

    const bad = await send('POST', '/api/collections/meta/dry-run-view', { query: 'select 1 as nope' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.data, {});
    assert.match(bad.body.message, /^Invalid view query\. Raw error:/);

    const dup = await send('POST', '/api/collections/meta/dry-run-view', { query: '(select 1 as id union all select 1 as id)' });
    assert.equal(dup.status, 400);
    assert.match(dup.body.message, /Raw error:/);

    assert.equal((await pb.collections.getFullList()).length, before + 1, 'nothing persisted');
  } finally {
    await srv.stop();
  }
});

// d. apis/extensions.go bindUIExtensions: with no extensions, an empty text/javascript 200.
test('d. GET /_/extensions.js answers 200 text/javascript with an empty body', async () => {
  const { srv } = await boot();
  try {
    const res = await fetch(srv.url + '/_/extensions.js');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript');
    assert.equal(await res.text(), '');
  } finally {
    await srv.stop();
  }
});

// e. apis/sql.go runSQL / executeQuery.
test('e. POST /api/sql runs superuser SQL: string cells, 1000-row cap, write queries in a transaction', async () => {
  const { srv, send } = await boot();
  try {
    const guest = await send('POST', '/api/sql', { query: 'select 1' }, { auth: false });
    assert.equal(guest.status, 401);
    assert.deepEqual(guest.body.data, {});

    const one = await send('POST', '/api/sql', { query: 'select 1' });
    assert.equal(one.status, 200);
    assert.deepEqual(Object.keys(one.body), ['execTime', 'affectedRows', 'columns', 'rows']);
    assert.equal(typeof one.body.execTime, 'number');
    assert.equal(one.body.affectedRows, 0);
    assert.deepEqual(one.body.columns, [{ name: '1', type: '', nullable: true }]);
    assert.deepEqual(one.body.rows, [['1']]);

    const mixed = await send('POST', '/api/sql', { query: "select 2 as n, null as z, 'a' as s" });
    assert.deepEqual(mixed.body.rows, [['2', null, 'a']]);

    const last = await send('POST', '/api/sql', { query: 'select 1;select 2' });
    assert.equal(last.status, 200);
    assert.deepEqual(last.body.rows, [['2']]);

    const cap = await send('POST', '/api/sql', {
      query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 1500) SELECT x FROM c',
    });
    assert.equal(cap.status, 200);
    assert.equal(cap.body.rows.length, 1000);

    const write = await send('POST', '/api/sql', {
      query: 'create table compat_sql_t(id int primary key);insert into compat_sql_t(id) VALUES(1)',
    });
    assert.equal(write.status, 200);
    assert.equal(write.body.affectedRows, 1);
    assert.deepEqual(write.body.columns, []);
    assert.deepEqual(write.body.rows, []);

    const rollback = await send('POST', '/api/sql', {
      query: 'insert into compat_sql_t(id) VALUES(2);invalid',
    });
    assert.equal(rollback.status, 400);
    assert.deepEqual(rollback.body.data, {});
    assert.match(rollback.body.message, /^Failed to execute query\. Raw error:/);
    const count = await send('POST', '/api/sql', { query: 'select count(*) from compat_sql_t' });
    assert.deepEqual(count.body.rows, [['1']], 'failed write batch rolled back');

    const empty = await send('POST', '/api/sql', { query: '' });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.data.query.code, 'validation_required');

    const long = await send('POST', '/api/sql', { query: 'a'.repeat(5001) });
    assert.equal(long.status, 400);
    assert.ok(long.body.data.query);
  } finally {
    await srv.stop();
  }
});

// f. migrations/1640988000_init.go: the four system collections.
test('f. system collections _mfas, _otps, _authOrigins, _externalAuths exist and superusers can list them', async () => {
  const { srv, pb, send } = await boot();
  try {
    const OWNER = "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";
    const expected = {
      _mfas: { id: 'pbc_2279338944', deleteRule: null, fields: [['method', 'text']] },
      _otps: { id: 'pbc_1638494021', deleteRule: null, fields: [['password', 'password'], ['sentTo', 'text']] },
      _authOrigins: { id: 'pbc_4275539003', deleteRule: OWNER, fields: [['fingerprint', 'text']] },
      _externalAuths: { id: 'pbc_2281828961', deleteRule: OWNER, fields: [['provider', 'text'], ['providerId', 'text']] },
    };
    for (const [name, exp] of Object.entries(expected)) {
      const c = await pb.collections.getOne(name);
      assert.equal(c.id, exp.id, name);
      assert.equal(c.type, 'base', name);
      assert.equal(c.system, true, name);
      assert.equal(c.listRule, OWNER, name);
      assert.equal(c.viewRule, OWNER, name);
      assert.equal(c.createRule, null, name);
      assert.equal(c.updateRule, null, name);
      assert.equal(c.deleteRule, exp.deleteRule, name);
      const got = c.fields.map((f) => [f.name, f.type]);
      assert.deepEqual(
        got,
        [['id', 'text'], ['collectionRef', 'text'], ['recordRef', 'text'], ...exp.fields, ['created', 'autodate'], ['updated', 'autodate']],
        name,
      );
      assert.ok(c.fields.every((f) => f.system === true), name + ' fields are system');
      const byName = Object.fromEntries(c.fields.map((f) => [f.name, f]));
      assert.equal(byName.collectionRef.required, true);
      assert.equal(byName.recordRef.required, true);
      assert.equal(byName.created.onCreate, true);
      assert.equal(byName.created.onUpdate, false);
      assert.equal(byName.updated.onUpdate, true);

      const list = await send('GET', `/api/collections/${name}/records`);
      assert.equal(list.status, 200, name);
      assert.ok(Array.isArray(list.body.items), name);

      // guests get an empty list (the owner rule filters), not an error
      const guest = await send('GET', `/api/collections/${name}/records`, undefined, { auth: false });
      assert.equal(guest.status, 200, name);
      assert.deepEqual(guest.body.items, [], name);
    }
    const otps = await pb.collections.getOne('_otps');
    const pw = otps.fields.find((f) => f.name === 'password');
    assert.equal(pw.hidden, true);
    assert.equal(pw.required, true);
    assert.equal(pw.cost, 8);
    assert.equal(otps.fields.find((f) => f.name === 'sentTo').hidden, true);

    const sys = await send('GET', '/api/collections?perPage=100&filter=' + encodeURIComponent('system=true'));
    const sysNames = sys.body.items.map((c) => c.name);
    for (const n of Object.keys(expected)) assert.ok(sysNames.includes(n), n);
  } finally {
    await srv.stop();
  }
});

// g1. core/field_password.go ValidateValue.
test('g. a too-short password fails with validation_min_text_constraint', async () => {
  const { srv, send } = await boot();
  try {
    const r = await send('POST', '/api/collections/users/records', {
      email: 'short@example.com',
      password: 'abc',
      passwordConfirm: 'abc',
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.data.password, {
      code: 'validation_min_text_constraint',
      message: 'Must be at least 8 character(s).',
    });
  } finally {
    await srv.stop();
  }
});

// g2. apis/batch.go: unsupported and failed sub-requests.
test('g. a failed or unsupported batch sub-request is batch_request_failed with the sub-response', async () => {
  const { srv, pb, send } = await boot();
  try {
    await send('PATCH', '/api/settings', { batch: { enabled: true, maxRequests: 50 } });
    await pb.collections.create({
      name: 'items',
      listRule: '',
      viewRule: '',
      createRule: '',
      fields: [{ name: 'title', type: 'text', required: true }],
    });

    const unsupported = await send('POST', '/api/batch', { requests: [{ method: 'GET', url: '/api/health' }] });
    assert.equal(unsupported.status, 400);
    assert.equal(unsupported.body.message, 'Batch transaction failed.');
    assert.deepEqual(unsupported.body.data, {
      requests: {
        0: {
          code: 'batch_request_failed',
          message: 'Batch request failed.',
          response: GENERIC_400,
        },
      },
    });

    // not rejected up front: earlier requests run (then roll back) and the failure is reported at its index
    const later = await send('POST', '/api/batch', {
      requests: [
        { method: 'POST', url: '/api/collections/items/records', body: { title: 'kept?' } },
        { method: 'GET', url: '/api/settings' },
      ],
    });
    assert.equal(later.status, 400);
    assert.equal(later.body.data.requests['1'].code, 'batch_request_failed');
    assert.ok(later.body.data.requests['1'].response);
    assert.equal(later.body.data.requests['0'], undefined);

    const failed = await send('POST', '/api/batch', {
      requests: [
        { method: 'POST', url: '/api/collections/items/records', body: { title: 'a' } },
        { method: 'POST', url: '/api/collections/items/records', body: { title: '' } },
      ],
    });
    assert.equal(failed.status, 400);
    const item = failed.body.data.requests['1'];
    assert.equal(item.code, 'batch_request_failed');
    assert.equal(item.message, 'Batch request failed.');
    assert.equal(item.response.status, 400);
    assert.equal(item.response.data.title.code, 'validation_required');
    assert.equal(failed.body.data.requests['0'], undefined);
    assert.equal((await pb.collection('items').getFullList()).length, 0, 'rolled back');

    const invalid = await send('POST', '/api/batch', { requests: [{ method: 'invalid', url: '/x' }] });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.message, 'Invalid batch request data.');
    assert.equal(invalid.body.data.requests['0'].method.code, 'validation_in_invalid');

    const none = await send('POST', '/api/batch', { requests: [] });
    assert.equal(none.status, 400);
    assert.equal(none.body.message, 'Invalid batch request data.');
    assert.equal(none.body.data.requests.code, 'validation_required');
  } finally {
    await srv.stop();
  }
});

// g3. Record field codes: core/field_text.go, field_url.go, field_geo_point.go, field_date.go, field_number.go.
test('g. record field validation codes match PocketBase', async () => {
  const { srv, pb, send } = await boot();
  try {
    await pb.collections.create({
      name: 'things',
      listRule: '',
      viewRule: '',
      createRule: '',
      fields: [
        { name: 'title', type: 'text', min: 3, max: 5 },
        { name: 'site', type: 'url' },
        { name: 'loc', type: 'geoPoint' },
        { name: 'when', type: 'date' },
        { name: 'n', type: 'number' },
      ],
    });
    const create = (body) => send('POST', '/api/collections/things/records', body);

    const short = await create({ title: 'ab' });
    assert.equal(short.status, 400);
    assert.deepEqual(short.body.data.title, {
      code: 'validation_min_text_constraint',
      message: 'Must be at least 3 character(s).',
      params: { min: 3 },
    });
    const long = await create({ title: 'abcdef' });
    assert.deepEqual(long.body.data.title, {
      code: 'validation_max_text_constraint',
      message: 'Must be no more than 5 character(s).',
      params: { max: 5 },
    });

    const url = await create({ site: 'not a url' });
    assert.equal(url.status, 400);
    assert.deepEqual(url.body.data.site, { code: 'validation_invalid_url', message: 'Must be a valid url.' });

    const lat = await create({ loc: { lon: 10, lat: 100 } });
    assert.equal(lat.status, 400);
    assert.equal(lat.body.data.loc.code, 'validation_invalid_latitude');
    const lon = await create({ loc: { lon: 200, lat: 10 } });
    assert.equal(lon.body.data.loc.code, 'validation_invalid_longitude');

    // unparsable dates / numbers are coerced (to "" / 0), not rejected
    const coerced = await create({ when: 'garbage', n: 'abc' });
    assert.equal(coerced.status, 200);
    assert.equal(coerced.body.when, '');
    assert.equal(coerced.body.n, 0);
  } finally {
    await srv.stop();
  }
});

// g3. Collection codes: core/collection_validate.go; records list errors: apis/record_crud.go recordsList.
test('g. collection validation codes and list errors match PocketBase', async () => {
  const { srv, pb, send } = await boot();
  try {
    const badName = await send('POST', '/api/collections', { name: 'bad-name', type: 'base' });
    assert.equal(badName.status, 400);
    assert.equal(badName.body.data.name.code, 'validation_match_invalid');

    const rename = await send('PATCH', '/api/collections/_superusers', { name: 'admins' });
    assert.equal(rename.status, 400);
    assert.equal(rename.body.data.name.code, 'validation_collection_system_name_change');

    const badIndex = await send('POST', '/api/collections', { name: 'idx_test', type: 'base', indexes: ['not an index'] });
    assert.equal(badIndex.status, 400);
    assert.equal(badIndex.body.data.indexes['0'].code, 'validation_invalid_index_expression');

    // underscore-prefixed names are allowed
    const underscored = await send('POST', '/api/collections', { name: '_custom', type: 'base' });
    assert.equal(underscored.status, 200);

    await pb.collections.create({ name: 'pub', listRule: '', fields: [{ name: 'title', type: 'text' }] });
    for (const q of ['filter=' + encodeURIComponent("nope='x'"), 'sort=-nope']) {
      const r = await send('GET', '/api/collections/pub/records?' + q);
      assert.equal(r.status, 400, q);
      assert.deepEqual(r.body, GENERIC_400, q);
    }
  } finally {
    await srv.stop();
  }
});
