// Schema changes beyond create/rename: view collections (fields derived from a SELECT), importing
// collections in one transaction, and changes that rebuild a table (single <-> multiple values, a
// relation's delete behaviour, dropping a single relation) while keeping the data.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

describe('schema: views, import, rebuilds', () => {
  let srv;
  let pb;
  let guest;
  const send = (method, path, body) =>
    getJson(srv.url + path, {
      method,
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  before(async () => {
    srv = await startServer({ superuser: SU });
    pb = new PocketBase(srv.url);
    await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
    guest = new PocketBase(srv.url);
    await pb.collections.create({ name: 'authors', listRule: '', viewRule: '', fields: [{ name: 'name', type: 'text' }] });
    await pb.collections.create({
      name: 'books',
      listRule: '',
      viewRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'pages', type: 'number' },
        { name: 'author', type: 'relation', collectionId: 'authors', maxSelect: 1 },
        { name: 'secret', type: 'text', hidden: true },
      ],
    });
    const [ann, bob] = await Promise.all(
      ['Ann', 'Bob'].map((name) => pb.collection('authors').create({ name }, { requestKey: null })),
    );
    for (const [title, pages, author] of [
      ['A1', 100, ann.id],
      ['A2', 300, ann.id],
      ['B1', 50, bob.id],
    ]) {
      await pb.collection('books').create({ title, pages, author, secret: 's-' + title });
    }
  });
  after(async () => srv && (await srv.stop()));

  test('a view collection derives its fields from its query and serves read-only records', async () => {
    const v = await pb.collections.create({
      name: 'author_stats',
      type: 'view',
      listRule: '',
      viewRule: '',
      viewQuery: `SELECT a.id, a.name, a.id AS who, count(b.id) AS books, total(b.pages) AS pages,
                  CAST(max(b.pages) > 200 AS BOOLEAN) AS big, group_concat(b.title) AS titles
                  FROM authors a LEFT JOIN books b ON b.author = a.id GROUP BY a.id;`,
    });
    assert.equal(v.type, 'view');
    assert.doesNotMatch(v.viewQuery, /;$/, 'the stored query is normalized');
    const byName = Object.fromEntries(v.fields.map((f) => [f.name, f]));
    assert.deepEqual(v.fields.map((f) => f.name), ['id', 'name', 'who', 'books', 'pages', 'big', 'titles']);
    assert.equal(byName.id.type, 'text');
    assert.equal(byName.id.primaryKey, true);
    assert.equal(byName.name.type, 'text', 'a column read from a collection copies its field');
    assert.equal(byName.who.type, 'relation', "a collection's id becomes a relation to it");
    assert.equal(byName.who.maxSelect, 1);
    assert.equal(byName.books.type, 'number');
    assert.equal(byName.books.onlyInt, true);
    assert.equal(byName.pages.type, 'number');
    assert.equal(byName.big.type, 'bool');
    assert.equal(byName.titles.type, 'json');

    const list = await guest.collection('author_stats').getList(1, 10, { sort: '-books', expand: 'who' });
    assert.equal(list.totalItems, 2);
    assert.equal(list.items[0].name, 'Ann');
    assert.equal(list.items[0].books, 2);
    assert.equal(list.items[0].pages, 400);
    assert.equal(list.items[0].big, true);
    assert.equal(list.items[0].expand.who.name, 'Ann');
    assert.equal(list.items[1].big, false);
    const filtered = await guest.collection('author_stats').getFullList({ filter: 'books < 2 && who.name = "Bob"' });
    assert.deepEqual(filtered.map((r) => r.name), ['Bob']);
    const one = await guest.collection('author_stats').getOne(list.items[1].id);
    assert.equal(one.name, 'Bob');
    assert.equal(one.collectionName, 'author_stats');

    // Read-only: no record writes, no truncate.
    for (const r of [
      await send('POST', '/api/collections/author_stats/records', { name: 'x' }),
      await send('PATCH', '/api/collections/author_stats/records/' + one.id, { name: 'x' }),
      await send('DELETE', '/api/collections/author_stats/records/' + one.id),
      await send('DELETE', '/api/collections/author_stats/truncate'),
    ]) {
      assert.equal(r.status, 400);
    }
    assert.equal((await pb.collection('authors').getFullList()).length, 2);

    // Re-saving keeps field ids; a changed query re-derives the fields.
    const again = await pb.collections.update('author_stats', {
      viewQuery: 'SELECT a.id, a.name, count(b.id) AS books FROM authors a LEFT JOIN books b ON b.author = a.id GROUP BY a.id',
    });
    assert.deepEqual(again.fields.map((f) => f.name), ['id', 'name', 'books']);
    assert.equal(again.fields.find((f) => f.name === 'books').id, byName.books.id);
    await pb.collections.delete('author_stats');
  });

  test('a view id that is not a table column is cast to text so lookups by id work', async () => {
    await pb.collections.create({
      name: 'numbered',
      type: 'view',
      listRule: '',
      viewRule: '',
      viewQuery: 'SELECT (ROW_NUMBER() OVER (ORDER BY title)) AS id, title FROM books',
    });
    const rows = await guest.collection('numbered').getFullList({ sort: 'id' });
    assert.deepEqual(rows.map((r) => [r.id, r.title]), [['1', 'A1'], ['2', 'A2'], ['3', 'B1']]);
    assert.equal((await guest.collection('numbered').getOne('2')).title, 'A2');
    await pb.collections.delete('numbered');
  });

  test('bad view definitions are refused with field errors and change nothing', async () => {
    const cases = [
      [{ viewQuery: 'SELECT name FROM authors' }, 'viewQuery', 'validation_invalid_view_query'], // no id
      [{ viewQuery: 'SELECT * FROM authors' }, 'viewQuery', 'validation_invalid_view_query'],
      [{ viewQuery: 'SELECT a.* FROM authors a' }, 'viewQuery', 'validation_invalid_view_query'],
      [{ viewQuery: 'SELEC id FROM authors' }, 'viewQuery', 'validation_invalid_view_query'],
      [{ viewQuery: 'SELECT id FROM nowhere' }, 'viewQuery', 'validation_invalid_view_query'],
      [{ viewQuery: 'SELECT id FROM authors; DROP TABLE books' }, 'viewQuery', 'validation_invalid_view_query'],
      [{ viewQuery: "DELETE FROM books RETURNING id" }, 'viewQuery', 'validation_invalid_view_query'],
      [{ viewQuery: 'SELECT id, count(*) FROM authors' }, 'viewQuery', 'validation_invalid_view_query'],
      [{ viewQuery: '' }, 'viewQuery', 'validation_required'],
      [{ viewQuery: 'SELECT id FROM authors', createRule: '' }, 'createRule', 'validation_nil'],
      [{ viewQuery: 'SELECT id FROM authors', indexes: ['CREATE INDEX x ON v (id)'] }, 'indexes', 'validation_indexes_not_supported'],
      [{ viewQuery: 'SELECT id FROM authors', listRule: 'nope = 1' }, 'listRule', 'validation_invalid_rule'],
    ];
    for (const [body, key, code] of cases) {
      const r = await send('POST', '/api/collections', { name: 'badview', type: 'view', ...body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.data[key]?.code, code, JSON.stringify(body) + ' -> ' + JSON.stringify(r.body));
    }
    assert.equal((await send('GET', '/api/collections/badview')).status, 404);
    assert.equal((await pb.collection('books').getFullList()).length, 3, 'no statement of a refused query ran');
  });

  test('a change that breaks a view is refused; one that keeps it working re-derives it', async () => {
    await pb.collections.create({
      name: 'titles',
      type: 'view',
      listRule: '',
      viewQuery: 'SELECT id, title FROM books',
    });
    const books = await pb.collections.getOne('books');
    const renamed = books.fields.map((f) => (f.name === 'title' ? { ...f, name: 'heading' } : f));
    const r = await send('PATCH', '/api/collections/books', { fields: renamed });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /view collection titles no longer works/);
    assert.ok((await pb.collections.getOne('books')).fields.some((f) => f.name === 'title'), 'nothing changed');
    // Deleting a collection a view reads is refused too.
    assert.equal((await send('DELETE', '/api/collections/books')).status, 400);
    // Adding a field keeps the view working.
    await pb.collections.update('books', { fields: [...books.fields, { name: 'isbn', type: 'text' }] });
    assert.equal((await guest.collection('titles').getFullList()).length, 3);
    await pb.collections.delete('titles');
  });

  test('relation changes rebuild the table and keep the data', async () => {
    const before = await pb.collection('books').getFullList({ sort: 'title' });
    const books = await pb.collections.getOne('books');
    const withMulti = books.fields.map((f) => (f.name === 'author' ? { ...f, maxSelect: 5 } : f));
    const multi = await pb.collections.update('books', { fields: withMulti });
    assert.equal(multi.fields.find((f) => f.name === 'author').maxSelect, 5);
    const rows = await pb.collection('books').getFullList({ sort: 'title' });
    assert.deepEqual(rows.map((r) => r.author), before.map((r) => [r.author]), 'single values became lists');
    assert.deepEqual(rows.map((r) => r.secret), before.map((r) => r.secret), 'other columns are copied');
    assert.deepEqual(rows.map((r) => r.id), before.map((r) => r.id));

    // Back to single, with cascade delete: the values come back and deleting an author deletes books.
    const single = multi.fields.map((f) => (f.name === 'author' ? { ...f, maxSelect: 1, cascadeDelete: true } : f));
    await pb.collections.update('books', { fields: single });
    const back = await pb.collection('books').getFullList({ sort: 'title' });
    assert.deepEqual(back.map((r) => r.author), before.map((r) => r.author));
    const bob = before.find((r) => r.title === 'B1').author;
    await pb.collection('authors').delete(bob);
    assert.deepEqual((await pb.collection('books').getFullList({ sort: 'title' })).map((r) => r.title), ['A1', 'A2']);
    assert.equal((await pb.collections.getOne('books')).fields.find((f) => f.name === 'author').cascadeDelete, true);

    // Dropping the single relation field works and keeps the rest.
    const dropped = (await pb.collections.getOne('books')).fields.filter((f) => f.name !== 'author');
    await pb.collections.update('books', { fields: dropped });
    const after = await pb.collection('books').getFullList({ sort: 'title' });
    assert.deepEqual(after.map((r) => [r.title, r.pages, r.author]), [['A1', 100, undefined], ['A2', 300, undefined]]);
    // Authors can be deleted freely now (no foreign key is left behind).
    const ann = (await pb.collection('authors').getFullList())[0];
    await pb.collection('authors').delete(ann.id);
    assert.equal((await pb.collection('books').getFullList()).length, 2);
  });

  test('an emptied list becomes an empty single value; a change the data does not fit changes nothing', async () => {
    await pb.collections.create({ name: 'owners', listRule: '', fields: [{ name: 'n', type: 'text' }] });
    await pb.collections.create({
      name: 'pets',
      listRule: '',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'owners', type: 'relation', collectionId: 'owners', maxSelect: 3 },
      ],
    });
    const o = await pb.collection('owners').create({ n: 'x' });
    await pb.collection('pets').create({ name: 'rex', owners: [o.id] });
    await pb.collection('pets').create({ name: 'rex', owners: [o.id] });
    const bad = await send('POST', '/api/collections/pets/records', { owners: ['missingmissing1'] });
    assert.equal(bad.status, 400, 'unknown ids are refused on write');
    await pb.collection('owners').delete(o.id); // drops the id from pets.owners
    const pets = await pb.collections.getOne('pets');

    // Single values plus a unique index the duplicate names break: refused as a whole.
    const single = pets.fields.map((f) => (f.name === 'owners' ? { ...f, maxSelect: 1 } : f));
    const r = await send('PATCH', '/api/collections/pets', {
      fields: single,
      indexes: ['CREATE UNIQUE INDEX idx_pets_name ON pets (name)'],
    });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    const still = await pb.collections.getOne('pets');
    assert.equal(still.fields.find((f) => f.name === 'owners').maxSelect, 3);
    assert.deepEqual(still.indexes, []);
    assert.deepEqual((await pb.collection('pets').getFullList()).map((p) => p.owners), [[], []]);

    const ok = await send('PATCH', '/api/collections/pets', { fields: single });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual((await pb.collection('pets').getFullList()).map((p) => p.owners), ['', '']);
  });

  test("a relation without a limit keeps PocketBase's 2147483647; out of range is refused", async () => {
    // PocketBase sets no upper bound, and its v0.23 migration writes 2147483647 for an unlimited
    // relation: databases and apps carry that value.
    const made = await pb.collections.create({
      name: 'shelves',
      fields: [{ name: 'books', type: 'relation', collectionId: 'books', maxSelect: 2147483647 }],
    });
    assert.equal(made.fields.find((f) => f.name === 'books').maxSelect, 2147483647);
    for (const maxSelect of [-1, 2147483648]) {
      const e = await pb.collections
        .update('shelves', { fields: [{ name: 'books', type: 'relation', collectionId: 'books', maxSelect }] })
        .catch((err) => err);
      assert.equal(e.status, 400, String(maxSelect));
      // The fields the update names follow the id field PocketBase keeps first.
      assert.equal(e.response.data.fields['1'].maxSelect.code, 'validation_invalid_value');
    }
    await pb.collections.delete('shelves');
  });

  test('collections named like static routes are still reachable', async () => {
    for (const name of ['meta', 'import']) {
      await pb.collections.create({ name, listRule: '', viewRule: '', createRule: '', fields: [{ name: 't', type: 'text' }] });
      const rec = await guest.collection(name).create({ t: name });
      assert.equal((await guest.collection(name).getOne(rec.id)).t, name);
      assert.equal((await guest.collection(name).getFullList()).length, 1);
      assert.equal((await pb.collections.getOne(name)).name, name);
    }
  });

  test('import creates, updates and (with deleteMissing) deletes collections in one transaction', async () => {
    // Two new collections that point at each other, and a view over them.
    const imported = [
      {
        id: 'pbc_teams00001',
        name: 'teams',
        type: 'base',
        listRule: '',
        fields: [
          { name: 'name', type: 'text' },
          { name: 'captain', type: 'relation', collectionId: 'pbc_players0001', maxSelect: 1 },
        ],
      },
      {
        id: 'pbc_players0001',
        name: 'players',
        type: 'base',
        listRule: '',
        fields: [
          { name: 'name', type: 'text' },
          { name: 'team', type: 'relation', collectionId: 'pbc_teams00001', maxSelect: 1 },
        ],
      },
      { name: 'rosters', type: 'view', listRule: '', viewQuery: 'SELECT p.id, p.name, t.name AS team FROM players p JOIN teams t ON t.id = p.team' },
    ];
    await pb.collections.import(imported, false);
    const t = await pb.collection('teams').create({ name: 'Reds' });
    await pb.collection('players').create({ name: 'Zoe', team: t.id });
    assert.deepEqual((await pb.collection('rosters').getFullList()).map((r) => [r.name, r.team]), [['Zoe', 'Reds']]);
    assert.equal((await pb.collections.getOne('players')).fields.find((f) => f.name === 'team').collectionId, 'pbc_teams00001');

    // A failing entry rolls the whole import back.
    const bad = await send('PUT', '/api/collections/import', {
      collections: [
        { name: 'newone', fields: [{ name: 'x', type: 'text' }] },
        { name: 'broken', fields: [{ name: 'r', type: 'relation', collectionId: 'nowhere' }] },
      ],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.data.collections.code, 'validation_collections_import_failure');
    assert.match(bad.body.data.collections.message, /broken/);
    assert.equal((await send('GET', '/api/collections/newone')).status, 404);
    assert.equal((await send('PUT', '/api/collections/import', { collections: [] })).status, 400);
    assert.equal((await send('PUT', '/api/collections/import', {})).status, 400);
    assert.equal((await guest.send('/api/collections/import', { method: 'PUT', body: { collections: imported } }).catch((e) => e)).status, 401);

    // Without deleteMissing, fields and collections left out are kept.
    await pb.collections.import([{ id: 'pbc_teams00001', name: 'teams', fields: [{ name: 'city', type: 'text' }] }], false);
    const teams = await pb.collections.getOne('teams');
    assert.deepEqual(teams.fields.map((f) => f.name), ['city', 'id', 'name', 'captain']);
    assert.equal((await pb.collection('teams').getFullList())[0].name, 'Reds', 'data kept');
    assert.equal((await send('GET', '/api/collections/books')).status, 200);

    // With deleteMissing, everything not listed goes (system collections stay), fields too.
    const all = await pb.collections.getFullList();
    const keep = all.filter((c) => ['teams', 'players', 'rosters'].includes(c.name));
    const teamsOnlyName = keep.map((c) =>
      c.name === 'teams' ? { ...c, fields: c.fields.filter((f) => f.name !== 'city') } : c,
    );
    await pb.collections.import(teamsOnlyName, true);
    const names = (await pb.collections.getFullList()).map((c) => c.name).sort();
    assert.deepEqual(names, ['_authOrigins', '_externalAuths', '_mfas', '_otps', '_superusers', 'players', 'rosters', 'teams']);
    assert.ok(!(await pb.collections.getOne('teams')).fields.some((f) => f.name === 'city'));
    assert.deepEqual((await pb.collection('rosters').getFullList()).map((r) => r.name), ['Zoe']);
  });

  test('schema changes and views survive a restart', async () => {
    const dir = srv.dir;
    srv.proc.kill('SIGTERM');
    await srv.exited;
    srv = await startServer({ dir });
    pb = new PocketBase(srv.url);
    await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
    guest = new PocketBase(srv.url);
    assert.deepEqual((await guest.collection('rosters').getFullList()).map((r) => r.team), ['Reds']);
  });
});
