// Collections and records through the official SDK and plain HTTP: define collections at runtime,
// then create, read, list (filter, sort, paging), update and delete records under API rules.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

describe('collections and records', () => {
  let srv;
  let pb; // superuser
  let guest;
  before(async () => {
    srv = await startServer({ superuser: SU });
    pb = new PocketBase(srv.url);
    await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
    guest = new PocketBase(srv.url);
  });
  after(async () => srv && (await srv.stop()));

  test('the collections API needs a superuser', async () => {
    const r = await getJson(srv.url + '/api/collections');
    assert.equal(r.status, 401);
    await assert.rejects(guest.collections.getFullList(), (e) => e.status === 401);
  });

  test('create collections with typed fields, list and view them', async () => {
    const tags = await pb.collections.create({
      name: 'tags',
      listRule: '',
      viewRule: '',
      fields: [{ name: 'name', type: 'text', required: true, max: 50 }],
      indexes: ['CREATE UNIQUE INDEX idx_tags_name ON tags (name)'],
    });
    assert.match(tags.id, /^pbc_\d+$/);
    assert.equal(tags.fields[0].name, 'id');
    assert.equal(tags.fields[0].primaryKey, true);
    assert.deepEqual(tags.indexes, ['CREATE UNIQUE INDEX `idx_tags_name` ON `tags` (`name`)']);

    const posts = await pb.collections.create({
      name: 'posts',
      listRule: 'published = true',
      viewRule: 'published = true',
      createRule: "title != ''",
      updateRule: null,
      deleteRule: null,
      fields: [
        { name: 'title', type: 'text', required: true, min: 2, max: 100 },
        { name: 'views', type: 'number', onlyInt: true, min: 0 },
        { name: 'published', type: 'bool' },
        { name: 'status', type: 'select', values: ['draft', 'live'], maxSelect: 1 },
        { name: 'labels', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
        { name: 'tags', type: 'relation', collectionId: tags.id, maxSelect: 5 },
        { name: 'meta', type: 'json' },
        { name: 'contact', type: 'email' },
        { name: 'site', type: 'url' },
        { name: 'due', type: 'date' },
        { name: 'where', type: 'geoPoint' },
        { name: 'created', type: 'autodate', onCreate: true, onUpdate: false },
        { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
      ],
    });
    assert.equal(posts.name, 'posts');
    assert.equal(posts.listRule, 'published = true');
    assert.equal(posts.updateRule, null);

    const all = await pb.collections.getFullList();
    const names = all.map((c) => c.name);
    assert.ok(names.includes('_superusers') && names.includes('posts') && names.includes('tags'));
    const su = all.find((c) => c.name === '_superusers');
    assert.equal(su.authToken.secret, undefined, 'token secrets are never returned');
    const one = await pb.collections.getOne('posts');
    assert.equal(one.id, posts.id);
  });

  test('scaffolds: an empty collection of each type', async () => {
    const s = await pb.collections.getScaffolds();
    assert.deepEqual(Object.keys(s).sort(), ['auth', 'base', 'view']);
    assert.equal(s.base.type, 'base');
    assert.equal(s.base.fields[0].name, 'id');
    assert.equal(s.view.viewQuery, '');
    await assert.rejects(guest.collections.getScaffolds(), (e) => e.status === 401);
  });

  test('invalid collection definitions are field errors', async () => {
    const r = await getJson(srv.url + '/api/collections', {
      method: 'POST',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: 'bad name',
        fields: [{ name: 'x', type: 'nope' }, { name: 'ok', type: 'text' }, { name: 'ok', type: 'text' }],
        listRule: 'nope = 1',
      }),
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.data.name.code, 'validation_match_invalid');
    const dup = await getJson(srv.url + '/api/collections', {
      method: 'POST',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'dup', fields: [{ name: 'a', type: 'text' }, { name: 'A', type: 'text' }] }),
    });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.data.fields['2'].name.code, 'validation_duplicated_field_name');
    const rule = await getJson(srv.url + '/api/collections', {
      method: 'POST',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'rules', listRule: 'missing_field = 1' }),
    });
    assert.equal(rule.status, 400);
    assert.equal(rule.body.data.listRule.code, 'validation_invalid_rule');
    const idx = await getJson(srv.url + '/api/collections', {
      method: 'POST',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'idx', indexes: ['CREATE INDEX x ON other (id)'] }),
    });
    assert.equal(idx.status, 400);
    assert.equal(idx.body.data.indexes['0'].code, 'validation_invalid_index_expression');
  });

  test('records: create, view, list with filter/sort/paging, update, delete', async () => {
    const go = await pb.collection('tags').create({ name: 'go' });
    const cpp = await pb.collection('tags').create({ name: 'cpp' });
    assert.match(go.id, /^[a-z0-9]{15}$/);

    const p1 = await pb.collection('posts').create({
      title: 'Hello',
      views: 10,
      published: true,
      status: 'live',
      labels: ['a', 'b'],
      tags: [go.id, cpp.id],
      meta: { rank: 3 },
      contact: 'a@b.co',
      site: 'https://example.com',
      due: '2024-05-01T10:00:00Z',
      where: { lon: 23.32, lat: 42.69 },
    });
    assert.equal(p1.collectionName, 'posts');
    assert.equal(p1.title, 'Hello');
    assert.equal(p1.views, 10);
    assert.equal(p1.published, true);
    assert.deepEqual(p1.labels, ['a', 'b']);
    assert.deepEqual(p1.tags, [go.id, cpp.id]);
    assert.deepEqual(p1.meta, { rank: 3 });
    assert.equal(p1.due, '2024-05-01 10:00:00.000Z');
    assert.deepEqual(p1.where, { lon: 23.32, lat: 42.69 });
    assert.match(p1.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(p1.created, p1.updated);

    const p2 = await pb.collection('posts').create({ title: 'Draft', views: 1, tags: [cpp.id], id: 'abcdefghij12345' });
    assert.equal(p2.id, 'abcdefghij12345');
    assert.equal(p2.status, '');
    assert.deepEqual(p2.labels, []);
    assert.equal(p2.meta, null);
    assert.deepEqual(p2.where, { lon: 0, lat: 0 });
    await pb.collection('posts').create({ title: 'Third', views: 5, published: true, tags: [go.id] });

    const page = await pb.collection('posts').getList(1, 2, { sort: '-views', filter: 'views > 0' });
    assert.equal(page.page, 1);
    assert.equal(page.perPage, 2);
    assert.equal(page.totalItems, 3);
    assert.equal(page.totalPages, 2);
    assert.deepEqual(page.items.map((r) => r.title), ['Hello', 'Third']);

    const byTag = await pb.collection('posts').getFullList({ filter: `tags.name ?= "go"`, sort: 'title' });
    assert.deepEqual(byTag.map((r) => r.title), ['Hello', 'Third']);
    const first = await pb.collection('posts').getFirstListItem(pb.filter('title = {:t}', { t: 'Draft' }));
    assert.equal(first.id, p2.id);

    const skip = await pb.collection('posts').getList(1, 30, { skipTotal: true });
    assert.equal(skip.totalItems, -1);
    assert.equal(skip.totalPages, -1);

    const updated = await pb.collection('posts').update(p2.id, { title: 'Drafted', published: true });
    assert.equal(updated.title, 'Drafted');
    assert.equal(updated.views, 1);
    assert.equal(updated.created, p2.created);

    await pb.collection('posts').delete(p2.id);
    await assert.rejects(pb.collection('posts').getOne(p2.id), (e) => e.status === 404);
  });

  test('validation errors use PocketBase codes', async () => {
    const r = await getJson(srv.url + '/api/collections/posts/records', {
      method: 'POST',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        title: 'x',
        views: 1.5,
        status: 'nope',
        labels: ['a', 'b', 'c', 'a', 'zzz'],
        contact: 'not-an-email',
        site: 'ftp://x',
        due: 'yesterday',
        tags: ['missing00000000'],
      }),
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'Failed to create record.');
    assert.equal(r.body.data.title.code, 'validation_min_text_constraint');
    assert.deepEqual(r.body.data.title.params, { min: 2 });
    assert.equal(r.body.data.views.code, 'validation_only_int_constraint');
    assert.equal(r.body.data.status.code, 'validation_invalid_value');
    assert.equal(r.body.data.labels.code, 'validation_invalid_value');
    assert.equal(r.body.data.contact.code, 'validation_is_email');
    assert.equal(r.body.data.site.code, 'validation_invalid_url');
    // PocketBase keeps no date it cannot read (the field becomes ""): not an error.
    assert.equal(r.body.data.due, undefined);

    const missing = await getJson(srv.url + '/api/collections/posts/records', {
      method: 'POST',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Relations', tags: ['missing00000000'] }),
    });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.data.tags.code, 'validation_missing_rel_records');

    const dup = await getJson(srv.url + '/api/collections/tags/records', {
      method: 'POST',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'go' }),
    });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.data.name.code, 'validation_not_unique');
  });

  test('rules: guests see what the rules allow', async () => {
    const list = await guest.collection('posts').getFullList({ sort: 'title' });
    assert.deepEqual(list.map((r) => r.title), ['Hello', 'Third']); // published only
    await assert.rejects(guest.collection('posts').update(list[0].id, { title: 'hack' }), (e) => e.status === 403);
    await assert.rejects(guest.collection('posts').delete(list[0].id), (e) => e.status === 403);
    const created = await guest.collection('posts').create({ title: 'From a guest' });
    assert.equal(created.published, false);
    // Not published: the view rule hides it (404), the list leaves it out.
    await assert.rejects(guest.collection('posts').getOne(created.id), (e) => e.status === 404);
    // The create rule is checked: an empty title fails it... and the required field first.
    await assert.rejects(guest.collection('posts').create({ title: '' }), (e) => e.status === 400);
    // A client filter may not use @request.
    await assert.rejects(
      guest.collection('posts').getList(1, 10, { filter: "@request.auth.id = ''" }),
      (e) => e.status === 403,
    );
    // A bad filter is a 400, not a 500.
    await assert.rejects(guest.collection('posts').getList(1, 10, { filter: 'title ===' }), (e) => e.status === 400);
    // A collection with null rules is superusers only.
    await assert.rejects(guest.collection('tags').create({ name: 'x' }), (e) => e.status === 403);
  });

  test('rules read @request.headers and @request.query; superuser filters may too', async () => {
    await pb.collections.create({
      name: 'keyed',
      listRule: '@request.headers.x_key = "open-sesame" || @request.query.key = "q-key"',
      viewRule: '@request.headers.x_key = "open-sesame"',
      fields: [{ name: 't', type: 'text' }],
    });
    const rec = await pb.collection('keyed').create({ t: 'secret' });
    assert.equal((await guest.collection('keyed').getFullList()).length, 0);
    assert.equal((await guest.collection('keyed').getFullList({ headers: { 'X-Key': 'open-sesame' } })).length, 1);
    assert.equal((await guest.collection('keyed').getFullList({ key: 'q-key' })).length, 1);
    assert.equal((await guest.collection('keyed').getFullList({ key: 'wrong' })).length, 0);
    await assert.rejects(guest.collection('keyed').getOne(rec.id), (e) => e.status === 404);
    assert.equal((await guest.collection('keyed').getOne(rec.id, { headers: { 'X-Key': 'open-sesame' } })).t, 'secret');
    const su = await pb.collection('keyed').getFullList({ filter: '@request.query.mine = "1"', mine: '1' });
    assert.equal(su.length, 1);
    assert.equal((await pb.collection('keyed').getFullList({ filter: '@request.headers.x_mine = "1"' })).length, 0);
    await pb.collections.delete('keyed');
  });

  test('relations: referenced records are cleaned up on delete; referenced collections cannot be deleted', async () => {
    const t = await pb.collection('tags').create({ name: 'temp' });
    const p = await pb.collection('posts').create({ title: 'Tagged', tags: [t.id] });
    await pb.collection('tags').delete(t.id);
    const after = await pb.collection('posts').getOne(p.id);
    assert.deepEqual(after.tags, []);
    await assert.rejects(pb.collections.delete('tags'), (e) => e.status === 400);
  });

  test('expand relations (nested, back-relations) and pick fields', async () => {
    const people = await pb.collections.create({
      name: 'people',
      listRule: '',
      viewRule: '',
      fields: [{ name: 'name', type: 'text' }],
    });
    const secret = await pb.collections.create({ name: 'secret_notes', fields: [{ name: 'text', type: 'text' }] });
    const books = await pb.collections.create({
      name: 'books',
      listRule: '',
      viewRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'summary', type: 'editor' },
        { name: 'author', type: 'relation', collectionId: people.id, maxSelect: 1 },
        { name: 'readers', type: 'relation', collectionId: people.id, maxSelect: 10 },
        { name: 'note', type: 'relation', collectionId: secret.id, maxSelect: 1 },
      ],
    });
    await pb.collections.create({
      name: 'reviews',
      listRule: '',
      viewRule: '',
      fields: [
        { name: 'stars', type: 'number' },
        { name: 'book', type: 'relation', collectionId: books.id, maxSelect: 1 },
      ],
    });
    const ann = await pb.collection('people').create({ name: 'Ann' });
    const bob = await pb.collection('people').create({ name: 'Bob' });
    const note = await pb.collection('secret_notes').create({ text: 'hidden' });
    const book = await pb.collection('books').create({
      title: 'Dune',
      summary: '<p>A <b>desert</b> planet and a long, long story.</p>',
      author: ann.id,
      readers: [bob.id, ann.id],
      note: note.id,
    });
    await pb.collection('reviews').create({ stars: 5, book: book.id });
    await pb.collection('reviews').create({ stars: 3, book: book.id });

    const one = await guest.collection('books').getOne(book.id, { expand: 'author,readers,note,reviews_via_book.book.author' });
    assert.equal(one.expand.author.name, 'Ann');
    assert.deepEqual(one.expand.readers.map((p) => p.name), ['Bob', 'Ann']); // in the relation's order
    assert.equal(one.expand.note, undefined, 'a relation the guest may not view is left out');
    assert.equal(one.expand.reviews_via_book.length, 2);
    assert.equal(one.expand.reviews_via_book[0].expand.book.expand.author.name, 'Ann');

    const listed = await guest.collection('books').getList(1, 10, { expand: 'author' });
    assert.equal(listed.items[0].expand.author.name, 'Ann');
    const su = await pb.collection('books').getOne(book.id, { expand: 'note' });
    assert.equal(su.expand.note.text, 'hidden');

    const picked = await guest.collection('books').getOne(book.id, {
      fields: 'id,title,summary:excerpt(10,true),expand.author.name',
      expand: 'author',
    });
    assert.deepEqual(Object.keys(picked).sort(), ['expand', 'id', 'summary', 'title']);
    assert.equal(picked.summary, 'A desert p...');
    assert.deepEqual(picked.expand, { author: { name: 'Ann' } });
    const pickedList = await guest.collection('books').getList(1, 10, { fields: 'title' });
    assert.deepEqual(pickedList.items, [{ title: 'Dune' }]);
    assert.equal(pickedList.page, 1);

    await assert.rejects(guest.collection('books').getOne(book.id, { expand: 'nope' }), (e) => e.status === 400);
    for (const fields of ['title:excerpt(abc)', 'title:excerpt(0)', 'a..b', '*.title', 'x'.repeat(2100)]) {
      await assert.rejects(guest.collection('books').getOne(book.id, { fields }), (e) => e.status === 400, fields.slice(0, 20));
    }
    const deep = 'author.' + 'x.'.repeat(7) + 'y';
    await assert.rejects(guest.collection('books').getOne(book.id, { expand: deep }), (e) => e.status === 400);
  });

  test('update collections: rename, rules, add/rename/remove fields, indexes; data is kept', async () => {
    const c = await pb.collections.create({
      name: 'notes',
      listRule: '',
      fields: [
        { name: 'text', type: 'text' },
        { name: 'n', type: 'number' },
        { name: 'old', type: 'bool' },
      ],
      indexes: ['CREATE INDEX idx_notes_n ON notes (n)'],
    });
    await pb.collection('notes').create({ text: 'keep me', n: 7, old: true });
    const textField = c.fields.find((f) => f.name === 'text');
    const nField = c.fields.find((f) => f.name === 'n');
    const updated = await pb.collections.update('notes', {
      name: 'memos',
      viewRule: '',
      fields: [
        c.fields[0],
        { ...textField, name: 'body' },
        nField,
        { name: 'tag', type: 'select', values: ['x', 'y'], maxSelect: 1 },
      ],
      indexes: ['CREATE INDEX idx_memos_body ON memos (body)'],
    });
    assert.equal(updated.name, 'memos');
    assert.equal(updated.id, c.id);
    assert.equal(updated.viewRule, '');
    assert.equal(updated.listRule, '', 'rules not in the body keep their values');
    assert.deepEqual(updated.fields.map((f) => f.name), ['id', 'body', 'n', 'tag']);
    assert.deepEqual(updated.indexes, ['CREATE INDEX `idx_memos_body` ON `memos` (`body`)']);
    const rows = await pb.collection('memos').getFullList();
    assert.equal(rows.length, 1);
    assert.equal(rows[0].body, 'keep me');
    assert.equal(rows[0].n, 7);
    assert.equal(rows[0].tag, '');
    assert.equal(rows[0].old, undefined);
    await assert.rejects(pb.collection('notes').getList(), (e) => e.status === 404);

    // A type change is refused with a field error; nothing changes.
    const r = await getJson(srv.url + '/api/collections/memos', {
      method: 'PATCH',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ fields: [updated.fields[0], { ...updated.fields[1], type: 'number' }, updated.fields[2]] }),
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.data.fields['1'].code, 'validation_field_type_change');
    assert.equal((await pb.collection('memos').getFullList())[0].body, 'keep me');
    // System collections keep their name.
    const su = await getJson(srv.url + '/api/collections/_superusers', {
      method: 'PATCH',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'admins' }),
    });
    assert.equal(su.status, 400);
  });

  test('body modifiers: number +/- and list prepend/append/remove', async () => {
    const [t1, t2, t3] = await Promise.all(['m1', 'm2', 'm3'].map((name) => pb.collection('tags').create({ name }, { requestKey: null })));
    const p = await pb.collection('posts').create({ title: 'Mods', 'views+': 5, 'tags+': [t1.id] });
    assert.equal(p.views, 5);
    assert.deepEqual(p.tags, [t1.id]);
    const u = await pb.collection('posts').update(p.id, { 'views+': 3, '+tags': t2.id, 'tags+': [t3.id], 'labels+': 'c' });
    assert.equal(u.views, 8);
    assert.deepEqual(u.tags, [t2.id, t1.id, t3.id]);
    assert.deepEqual(u.labels, ['c']);
    const v = await pb.collection('posts').update(p.id, { 'views-': 2, 'tags-': [t1.id] });
    assert.equal(v.views, 6);
    assert.deepEqual(v.tags, [t2.id, t3.id]);
    // Concurrent increments are never lost: the writer applies them one after another.
    await Promise.all(Array.from({ length: 20 }, () => pb.collection('posts').update(p.id, { 'views+': 1 }, { requestKey: null })));
    assert.equal((await pb.collection('posts').getOne(p.id)).views, 26);
    // The result is validated like any value (views has min 0).
    await assert.rejects(pb.collection('posts').update(p.id, { 'views-': 100 }), (e) => e.status === 400);
  });

  test('list totals follow every write (cached counts are never stale)', async () => {
    const total = async () => (await pb.collection('tags').getList(1, 1, { filter: "name != ''" })).totalItems;
    const t0 = await total();
    assert.equal(await total(), t0); // a cached total
    const t = await pb.collection('tags').create({ name: 'count-me' });
    assert.equal(await total(), t0 + 1);
    await pb.collection('tags').update(t.id, { name: '' }).catch(() => {});
    await pb.collection('tags').delete(t.id);
    assert.equal(await total(), t0);
    const b = await pb.collections.create({ name: 'counted', listRule: '', fields: [{ name: 'n', type: 'number' }] });
    await pb.collection('counted').create({ n: 1 });
    assert.equal((await pb.collection('counted').getList(1, 10)).totalItems, 1);
    await pb.collections.truncate('counted');
    assert.equal((await pb.collection('counted').getList(1, 10)).totalItems, 0);
    await pb.collections.delete(b.id);
  });

  test('delete and truncate collections', async () => {
    const c = await pb.collections.create({ name: 'scratch', fields: [{ name: 'n', type: 'number' }] });
    await pb.collection('scratch').create({ n: 1 });
    await pb.collections.truncate('scratch');
    assert.equal((await pb.collection('scratch').getList(1, 10)).totalItems, 0);
    await pb.collections.delete(c.id);
    await assert.rejects(pb.collections.getOne('scratch'), (e) => e.status === 404);
    await assert.rejects(pb.collection('scratch').getList(), (e) => e.status === 404);
  });

  test('collections and records survive a restart', async () => {
    const r = await getJson(srv.url + '/api/collections/posts/records?perPage=1000', {
      headers: { Authorization: pb.authStore.token },
    });
    assert.equal(r.status, 200);
    const count = r.body.totalItems;
    const dir = srv.dir;
    srv.proc.kill('SIGTERM');
    await srv.exited;
    srv = await startServer({ dir });
    const pb2 = new PocketBase(srv.url);
    await pb2.collection('_superusers').authWithPassword(SU.email, SU.password);
    const again = await pb2.collection('posts').getList(1, 1000);
    assert.equal(again.totalItems, count);
  });
});
