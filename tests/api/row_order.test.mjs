// Lists sorted by `created` read the table in rowid order when `created` follows it (docs/benchmarks.md,
// W2): the answers must be exactly those of the sort itself. Concurrent creates get `created`
// stamps in commit order (the answer and the stored record agree); a row written with an older stamp
// — through the SQL console, or by another process on the file — is sorted into its place at once
// (the console) or within about a second (another process).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { sleep, sqlite, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

describe('lists sorted by created', () => {
  let srv;
  let su;
  const created = new Map(); // id -> created, as the create answers said

  // Every record in one page of the sort (ties in `created` have no defined order, so pages of a
  // plain sort may split them differently), checked against the stamps themselves.
  let reads = 0;
  async function pagesAgree(sort) {
    // perPage moves so that the guest response cache never answers.
    const res = await fetch(`${srv.url}/api/collections/notes/records?perPage=${500 + reads++}&sort=${sort}&skipTotal=1`);
    assert.equal(res.status, 200);
    const items = (await res.json()).items;
    const desc = sort.startsWith('-');
    for (let i = 1; i < items.length; i++) {
      const [a, b] = [items[i - 1].created, items[i].created];
      assert.ok(desc ? a >= b : a <= b, `${sort}: ${a} before ${b} at ${i}`);
    }
    assert.equal(new Set(items.map((r) => r.id)).size, items.length, 'no record twice');
    return items;
  }

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({
      name: 'notes',
      listRule: '',
      viewRule: '',
      createRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'n', type: 'number' },
        { name: 'created', type: 'autodate', onCreate: true },
        { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
      ],
    });
    const guest = new PocketBase(srv.url);
    guest.autoCancellation(false);
    for (let round = 0; round < 6; round++) {
      const made = await Promise.all(
        Array.from({ length: 64 }, (_, i) => guest.collection('notes').create({ title: `t${round}-${i}`, n: i % 7 })),
      );
      for (const r of made) created.set(r.id, r.created);
    }
  });
  after(async () => srv && (await srv.stop()));

  test('concurrent creates: the answers, the stored records and both sort directions agree', async () => {
    const desc = await pagesAgree('-created');
    assert.equal(desc.length, 384);
    for (const r of desc) {
      assert.equal(r.created, created.get(r.id), 'the create answered the stored stamp');
      assert.equal(r.updated, r.created, 'both autodates got the same stamp');
    }
    await sleep(300); // the order checked by now: the lists below read by rowid
    const again = await pagesAgree('-created');
    assert.deepEqual(
      again.map((r) => r.created),
      desc.map((r) => r.created),
    );
    const asc = await pagesAgree('created');
    assert.deepEqual(
      asc.map((r) => r.id),
      again.map((r) => r.id).reverse(),
      'ties too come in opposite orders',
    );
    // With a filter and a sort key before it.
    const res = await fetch(`${srv.url}/api/collections/notes/records?perPage=500&filter=n%3D3&sort=title,-created`);
    const items = (await res.json()).items;
    assert.ok(items.length > 0 && items.every((r) => r.n === 3));
    const expected = [...items].sort((a, b) => (a.title < b.title ? -1 : a.title > b.title ? 1 : a.created < b.created ? 1 : -1));
    assert.deepEqual(
      items.map((r) => r.id),
      expected.map((r) => r.id),
    );
  });

  test('a row with an older stamp from the SQL console is sorted into place at once', async () => {
    await pagesAgree('created');
    await sleep(300); // the order checked by now: lists read by rowid
    const sql = await fetch(`${srv.url}/api/sql`, {
      method: 'POST',
      headers: { Authorization: su.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        query: "INSERT INTO notes (id, title, n, created, updated) VALUES ('consoleold00001', 'old', 0, '2020-01-01 00:00:00.000Z', '2020-01-01 00:00:00.000Z')",
      }),
    });
    assert.equal(sql.status, 200);
    const asc = await pagesAgree('created');
    assert.equal(asc[0].id, 'consoleold00001');
    const desc = await pagesAgree('-created');
    assert.equal(desc[desc.length - 1].id, 'consoleold00001');
  });

  test("another process's row with an older stamp is sorted into place within about a second", async () => {
    // The console's row gone and the schema changed, the order is checked again and holds before
    // the outside write.
    const guest = new PocketBase(srv.url);
    await su.send('/api/sql', {
      method: 'POST',
      body: { query: "DELETE FROM notes WHERE id = 'consoleold00001'" },
    });
    const notes = await su.collections.getOne('notes');
    await su.collections.update('notes', { fields: [...notes.fields, { name: 'extra', type: 'text' }] });
    for (let i = 0; i < 3; i++) await guest.collection('notes').create({ title: `after${i}` });
    await pagesAgree('-created');
    await sleep(300);
    await pagesAgree('-created');
    sqlite(
      path.join(srv.dir, 'data.db'),
      "INSERT INTO notes (id, title, n, created, updated) VALUES ('outsideold00001', 'outside', 0, '2019-01-01 00:00:00.000Z', '2019-01-01 00:00:00.000Z')",
    );
    await sleep(1500);
    const asc = await pagesAgree('created');
    assert.equal(asc[0].id, 'outsideold00001');
  });
});
