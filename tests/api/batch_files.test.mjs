// Files in the batch API (issue 14): file parts named requests.N.field (what the SDK sends) or
// requests[N].field next to the JSON in @jsonPayload, as PocketBase's apis/batch.go. Every
// request's files are stored before the transaction and all of them are deleted again when the
// batch does not commit; files that committed updates and deletes drop are deleted after the commit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

describe('batch uploads', () => {
  let srv;
  let su;
  let col;
  const folder = (recordId) => path.join(srv.dir, 'storage', col.id, recordId);
  const storageFiles = (recordId) =>
    existsSync(folder(recordId)) ? readdirSync(folder(recordId)).filter((n) => !n.endsWith('.attrs')).sort() : [];
  // Every file under the collection's storage folder, as recordId/name.
  const allFiles = () => {
    const root = path.join(srv.dir, 'storage', col.id);
    if (!existsSync(root)) return [];
    return readdirSync(root)
      .flatMap((id) => storageFiles(id).map((n) => `${id}/${n}`))
      .sort();
  };
  // Deletes after a commit run once the write is durable: wait briefly for them.
  const eventually = async (check) => {
    for (let i = 0; i < 50 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(check());
  };
  const failure = async (promise) => {
    const e = await promise.catch((err) => err);
    assert.equal(e.status, 400, JSON.stringify(e.response));
    assert.equal(e.response.message, 'Batch transaction failed.');
    return e.response.data.requests;
  };

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.settings.update({ batch: { enabled: true, maxRequests: 20 } });
    col = await su.collections.create({
      name: 'posts',
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
      deleteRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'doc', type: 'file' },
        { name: 'gallery', type: 'file', maxSelect: 5 },
        { name: 'tiny', type: 'file', maxSize: 10 },
      ],
    });
  });
  after(() => srv?.stop());

  test('SDK batch creates store their files and answer their names', async () => {
    const batch = su.createBatch();
    batch.collection('posts').create({ title: 'a', doc: new File(['hello batch'], 'Note One.txt') });
    batch.collection('posts').create({ title: 'b', gallery: [new File([PNG], 'one.png'), new File([PNG], 'two.png')] });
    batch.collection('posts').upsert({ title: 'c', doc: new File(['upserted'], 'upserted.txt') });
    const res = await batch.send();
    assert.deepEqual(res.map((r) => r.status), [200, 200, 200]);
    const [a, b, c] = res.map((r) => r.body);
    assert.match(a.doc, /^note_one_[a-z0-9]{10}\.txt$/);
    assert.deepEqual(storageFiles(a.id), [a.doc]);
    const got = await fetch(su.files.getURL(a, a.doc));
    assert.equal(await got.text(), 'hello batch');
    assert.equal(b.gallery.length, 2);
    assert.match(b.gallery[1], /^two_[a-z0-9]{10}\.png$/);
    assert.deepEqual(storageFiles(b.id), [...b.gallery].sort());
    assert.match(c.doc, /^upserted_[a-z0-9]{10}\.txt$/);
    assert.deepEqual(storageFiles(c.id), [c.doc]);
  });

  test('SDK batch updates: field+ appends, a replaced file is deleted after the commit', async () => {
    const rec = await su.collection('posts').create({
      title: 'u',
      doc: new File(['old'], 'old.txt'),
      gallery: [new File([PNG], 'picg1.png')],
    });
    const batch = su.createBatch();
    batch.collection('posts').update(rec.id, { 'gallery+': new File([PNG], 'picg2.png') });
    // a mixed array: the SDK sends the names as JSON and the new file as gallery+
    batch.collection('posts').update(rec.id, { gallery: [rec.gallery[0], new File([PNG], 'picg3.png')] });
    batch.collection('posts').upsert({ id: rec.id, doc: new File(['new'], 'new.txt') });
    const res = await batch.send();
    assert.equal(res[0].body.gallery.length, 2);
    assert.match(res[0].body.gallery[1], /^picg2_[a-z0-9]{10}\.png$/);
    // the second update keeps g1, adds g3 and drops g2 (not among the names it sent)
    const final = res[2].body;
    assert.equal(final.gallery.length, 2);
    assert.equal(final.gallery[0], rec.gallery[0]);
    assert.match(final.gallery[1], /^picg3_[a-z0-9]{10}\.png$/);
    assert.match(final.doc, /^new_[a-z0-9]{10}\.txt$/);
    const kept = JSON.stringify([final.doc, ...final.gallery].sort());
    await eventually(() => JSON.stringify(storageFiles(rec.id)) === kept);
  });

  test('a batch that does not commit leaves none of its files, and keeps the old ones', async () => {
    const rec = await su.collection('posts').create({ title: 'keep', doc: new File(['keep me'], 'keep.txt') });
    const before = allFiles();

    // the last request fails (no such record): the files of all of them are gone
    let batch = su.createBatch();
    batch.collection('posts').create({ title: 'x', doc: new File(['x'], 'x.txt') });
    batch.collection('posts').update(rec.id, { doc: new File(['replacement'], 'replacement.txt') });
    batch.collection('posts').update('missing00000001', { gallery: [new File([PNG], 'r.png')] });
    let failed = await failure(batch.send());
    assert.equal(failed['2'].code, 'batch_request_failed');
    assert.equal(failed['2'].response.status, 404);
    assert.deepEqual(allFiles(), before);
    assert.equal((await su.collection('posts').getOne(rec.id)).doc, rec.doc);

    // a file that fails its checks stops the batch at its request (the requests before it roll back)
    batch = su.createBatch();
    batch.collection('posts').create({ title: 'y', doc: new File(['y'], 'y.txt') });
    batch.collection('posts').create({ title: 'z', tiny: new File(['more than ten bytes'], 'big.txt') });
    failed = await failure(batch.send());
    assert.equal(failed['1'].response.message, 'Failed to create record.');
    assert.equal(failed['1'].response.data.tiny.code, 'validation_file_size_limit');
    assert.deepEqual(allFiles(), before);

    // an upsert of an existing record answers as an update
    batch = su.createBatch();
    batch.collection('posts').upsert({ id: rec.id, tiny: new File(['more than ten bytes'], 'big.txt') });
    failed = await failure(batch.send());
    assert.equal(failed['0'].response.message, 'Failed to update record.');

    // a failing request before the bad file is the one reported, as the requests run in order
    batch = su.createBatch();
    batch.collection('posts').update('missing00000001', { doc: new File(['w'], 'w.txt') });
    batch.collection('posts').create({ title: 'v', tiny: new File(['more than ten bytes'], 'big.txt') });
    failed = await failure(batch.send());
    assert.deepEqual(Object.keys(failed), ['0']);
    assert.equal(failed['0'].response.status, 404);
    assert.deepEqual(allFiles(), before);
  });

  test('a batch delete removes the record folder after the commit', async () => {
    const rec = await su.collection('posts').create({ title: 'd', doc: new File(['bye'], 'bye.txt') });
    const batch = su.createBatch();
    batch.collection('posts').delete(rec.id);
    const res = await batch.send();
    assert.equal(res[0].status, 204);
    await eventually(() => !existsSync(folder(rec.id)));
  });

  test('raw multipart: requests.N.field and requests[N].field, stray parts ignored', async () => {
    const victim = await su.collection('posts').create({ title: 'victim', doc: new File(['stays'], 'stays.txt') });
    const form = new FormData();
    form.append(
      '@jsonPayload',
      JSON.stringify({
        requests: [
          // a file part replaces the JSON member of its name, as PocketBase
          { method: 'POST', url: '/api/collections/posts/records', body: { title: 'r0', doc: 'ignored.txt' } },
          { method: 'POST', url: '/api/collections/posts/records?fields=id,gallery', body: { title: 'r1' } },
          { method: 'PATCH', url: `/api/collections/posts/records/${victim.id}`, body: { title: 'victim2' } },
        ],
      }),
    );
    form.append('requests.0.doc', new File(['zero'], 'zero.txt'));
    form.append('requests[1].gallery', new File([PNG], 'a.png'));
    form.append('requests[1].gallery', new File([PNG], 'b.png'));
    form.append('requests.3.doc', new File(['nobody'], 'nobody.txt')); // no request 3: ignored
    form.append('requests.01.doc', new File(['odd'], 'odd.txt')); // not PocketBase's index form: ignored
    form.append('doc', new File(['loose'], 'loose.txt')); // not under requests: ignored
    const before = allFiles();
    const res = await fetch(srv.url + '/api/batch', {
      method: 'POST',
      headers: { Authorization: su.authStore.token },
      body: form,
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    const [r0, r1, r2] = body.map((r) => r.body);
    assert.match(r0.doc, /^zero_[a-z0-9]{10}\.txt$/);
    assert.deepEqual(Object.keys(r1).sort(), ['gallery', 'id']);
    assert.equal(r1.gallery.length, 2);
    assert.equal(r2.doc, victim.doc);
    const added = allFiles().filter((f) => !before.includes(f));
    assert.deepEqual(added, [`${r0.id}/${r0.doc}`, ...r1.gallery.map((n) => `${r1.id}/${n}`)].sort());
  });

  test('raw multipart: a delete ignores its file parts', async () => {
    const rec = await su.collection('posts').create({ title: 'gone' });
    const form = new FormData();
    form.append(
      '@jsonPayload',
      JSON.stringify({ requests: [{ method: 'DELETE', url: `/api/collections/posts/records/${rec.id}` }] }),
    );
    form.append('requests.0.doc', new File(['x'], 'x.txt'));
    const res = await fetch(srv.url + '/api/batch', {
      method: 'POST',
      headers: { Authorization: su.authStore.token },
      body: form,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), [{ status: 204, body: null }]);
    assert.equal(existsSync(folder(rec.id)), false);
  });
});
