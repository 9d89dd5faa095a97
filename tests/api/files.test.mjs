// Files (issue: files): file fields in collection definitions, and downloads from the storage folder
// as PocketBase serves them (GET /api/files/{collection}/{recordId}/{filename}), protected files with
// file tokens. Files are placed in <data dir>/storage as PocketBase lays them out (uploads come next):
// the record's names are set through the SQL console, the bytes written straight to disk.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const PASS = 'secret-pass-1';

describe('files', () => {
  let srv;
  let su;
  let docs;
  let rec;
  let userPb;

  const put = (collectionId, recordId, name, bytes) => {
    const dir = path.join(srv.dir, 'storage', collectionId, recordId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, name), bytes);
  };
  const sql = (query) => su.send('/api/sql', { method: 'POST', body: { query } });
  const get = (url, headers = {}) => fetch(url, { headers });

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collection('users').create({ email: 'f@example.com', password: PASS, passwordConfirm: PASS });
    userPb = new PocketBase(srv.url);
    await userPb.collection('users').authWithPassword('f@example.com', PASS);
    docs = await su.collections.create({
      name: 'docs',
      listRule: '',
      viewRule: '@request.auth.id != "" || title = "public"',
      createRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'one', type: 'file' },
        { name: 'many', type: 'file', maxSelect: 3, thumbs: ['50x50', '0x100', '200x100f'] },
        { name: 'secret', type: 'file', protected: true },
      ],
    });
    rec = await su.collection('docs').create({ title: 'private' });
    await sql(
      `UPDATE docs SET one = 'hello_abcdefghij.txt', many = '["pic_abcdefghij.png","page_abcdefghij.html"]', ` +
        `secret = 'report_abcdefghij.pdf' WHERE id = '${rec.id}'`,
    );
    put(docs.id, rec.id, 'hello_abcdefghij.txt', 'hello file body');
    put(docs.id, rec.id, 'pic_abcdefghij.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    put(docs.id, rec.id, 'page_abcdefghij.html', '<script>alert(document.cookie)</script>');
    put(docs.id, rec.id, 'report_abcdefghij.pdf', '%PDF-1.4 secret');
    put(docs.id, rec.id, 'stray_abcdefghij.txt', 'on disk but not in the record');
    rec = await su.collection('docs').getOne(rec.id);
  });
  after(() => srv?.stop());

  test('file fields are defined with PocketBase options and defaults', async () => {
    const one = docs.fields.find((f) => f.name === 'one');
    assert.equal(one.type, 'file');
    assert.match(one.id, /^file\d+$/);
    for (const [k, v] of Object.entries({ maxSelect: 0, maxSize: 0, mimeTypes: null, thumbs: null, protected: false })) {
      assert.deepEqual(one[k], v, k);
    }
    const many = docs.fields.find((f) => f.name === 'many');
    assert.deepEqual(many.thumbs, ['50x50', '0x100', '200x100f']);
    assert.equal(docs.fields.find((f) => f.name === 'secret').protected, true);
    assert.equal(rec.one, 'hello_abcdefghij.txt');
    assert.deepEqual(rec.many, ['pic_abcdefghij.png', 'page_abcdefghij.html']);

    const bad = await su.collections
      .create({ name: 'badthumbs', fields: [{ name: 'f', type: 'file', thumbs: ['10x10', '0x0', 'axb', '10x10z'] }] })
      .catch((e) => e);
    assert.equal(bad.status, 400);
    const thumbErrors = bad.response.data.fields[1].thumbs;
    assert.deepEqual(Object.keys(thumbErrors).sort(), ['1', '2', '3']);
    assert.equal(thumbErrors[1].code, 'validation_match_invalid');
  });

  test('a record holds at most maxSelect files', async () => {
    const err = await su
      .collection('docs')
      .update(rec.id, { one: ['hello_abcdefghij.txt', 'x.txt'] })
      .catch((e) => e);
    assert.equal(err.status, 400);
    assert.equal(err.response.data.one.code, 'validation_too_many_files');
  });

  test('downloads serve the bytes with PocketBase headers, ranges and validators', async () => {
    const url = su.files.getURL(rec, rec.one);
    assert.equal(url, `${srv.url}/api/files/${docs.id}/${rec.id}/hello_abcdefghij.txt`);
    const res = await get(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello file body');
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename=hello_abcdefghij.txt');
    assert.match(res.headers.get('content-security-policy'), /sandbox/);
    assert.equal(res.headers.get('x-frame-options'), null); // files may be embedded
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    const etag = res.headers.get('etag');
    assert.ok(etag);

    // by collection name too
    assert.equal((await get(`${srv.url}/api/files/docs/${rec.id}/hello_abcdefghij.txt`)).status, 200);

    const part = await get(url, { Range: 'bytes=6-9' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 6-9/15');
    assert.equal(await part.text(), 'file');
    const tail = await get(url, { Range: 'bytes=-4' });
    assert.equal(await tail.text(), 'body');
    const past = await get(url, { Range: 'bytes=99-' });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), 'bytes */15');

    assert.equal((await get(url, { 'If-None-Match': etag })).status, 304);
    const lastModified = res.headers.get('last-modified');
    assert.equal((await get(url, { 'If-Modified-Since': lastModified })).status, 304);

    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '15');

    const attach = await get(su.files.getURL(rec, rec.many[0], { download: true }));
    assert.match(attach.headers.get('content-disposition'), /^attachment/);
    const inline = await get(su.files.getURL(rec, rec.many[0]));
    assert.equal(inline.headers.get('content-type'), 'image/png');
    assert.match(inline.headers.get('content-disposition'), /^inline/);
    // a thumb that cannot be made is answered with the original, as PocketBase
    assert.equal((await get(su.files.getURL(rec, rec.many[0], { thumb: '50x50' }))).status, 200);
  });

  test('uploaded HTML never renders in the app origin', async () => {
    const res = await get(su.files.getURL(rec, rec.many[1]));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition'), /^attachment/);
    assert.match(res.headers.get('content-security-policy'), /default-src 'none'.*sandbox/);
  });

  test('only names the record holds are served, and nothing outside storage', async () => {
    const base = `${srv.url}/api/files/${docs.id}/${rec.id}`;
    for (const name of ['stray_abcdefghij.txt', '..%2F..%2Fdata.db', '%2e%2e', 'nope.txt', 'hello_abcdefghij.txt.attrs']) {
      const res = await get(`${base}/${name}`);
      assert.equal(res.status, 404, name);
      assert.equal((await res.json()).status, 404);
    }
    assert.equal((await get(`${srv.url}/api/files/nosuch/${rec.id}/hello_abcdefghij.txt`)).status, 404);
    assert.equal((await get(`${srv.url}/api/files/docs/nosuchrecord0000/hello_abcdefghij.txt`)).status, 404);
  });

  test('a download follows the record at once: a name taken out or put in is answered by the next read', async () => {
    const other = await su.collection('docs').create({ title: 'cache' });
    const base = `${srv.url}/api/files/${docs.id}/${other.id}`;
    put(docs.id, other.id, 'held_abcdefghij.txt', 'held');
    put(docs.id, other.id, 'later_abcdefghij.txt', 'later');
    await sql(`UPDATE docs SET one = 'held_abcdefghij.txt' WHERE id = '${other.id}'`);
    for (let i = 0; i < 3; i++) {
      // read repeatedly: hot downloads are answered from what the server remembers of the record
      assert.equal((await get(`${base}/held_abcdefghij.txt`)).status, 200);
      assert.equal((await get(`${base}/later_abcdefghij.txt`)).status, 404);
    }
    // both files stay on disk: only the record decides what is served
    await sql(`UPDATE docs SET one = 'later_abcdefghij.txt' WHERE id = '${other.id}'`);
    assert.equal((await get(`${base}/held_abcdefghij.txt`)).status, 404);
    const res = await get(`${base}/later_abcdefghij.txt`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'later');
    // through the records API too, and a field turned protected is no longer served without a token
    await su.collection('docs').update(other.id, { one: null });
    assert.equal((await get(`${base}/later_abcdefghij.txt`)).status, 404);
    await sql(`UPDATE docs SET secret = 'held_abcdefghij.txt' WHERE id = '${other.id}'`);
    assert.equal((await get(`${base}/held_abcdefghij.txt`)).status, 404);
    const token = (await su.files.getToken());
    assert.equal((await get(`${base}/held_abcdefghij.txt?token=${token}`)).status, 200);
  });

  test('protected files need a file token whose record passes the viewRule', async () => {
    const guest = new PocketBase(srv.url);
    assert.equal((await get(guest.files.getURL(rec, rec.secret))).status, 404);
    // an auth token is not a file token
    assert.equal((await get(guest.files.getURL(rec, rec.secret, { token: userPb.authStore.token }))).status, 404);

    const token = await userPb.files.getToken();
    const ok = await get(userPb.files.getURL(rec, rec.secret, { token }));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), '%PDF-1.4 secret');
    const suToken = await su.files.getToken();
    assert.equal((await get(su.files.getURL(rec, rec.secret, { token: suToken }))).status, 200);

    // a tampered token fails
    const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    assert.equal((await get(userPb.files.getURL(rec, rec.secret, { token: tampered }))).status, 404);

    // guests cannot ask for one
    const err = await guest.files.getToken().catch((e) => e);
    assert.equal(err.status, 401);
  });
});

describe('uploads', () => {
  let srv;
  let su;
  let col;
  const storageFiles = (recordId) => {
    const dir = path.join(srv.dir, 'storage', col.id, recordId);
    return existsSync(dir) ? readdirSync(dir).filter((n) => !n.endsWith('.attrs')).sort() : [];
  };
  const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    col = await su.collections.create({
      name: 'posts',
      listRule: '',
      viewRule: '',
      createRule: 'title != "refused"',
      updateRule: '',
      deleteRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'doc', type: 'file' },
        { name: 'gallery', type: 'file', maxSelect: 5 },
        { name: 'tiny', type: 'file', maxSize: 10 },
        { name: 'image', type: 'file', mimeTypes: ['image/png'] },
      ],
    });
  });
  after(() => srv?.stop());

  test('a create stores the file under a PocketBase name and serves it back', async () => {
    const rec = await su.collection('posts').create({
      title: 'a',
      doc: new File(['hello upload'], 'My Report.final.txt', { type: 'text/plain' }),
    });
    assert.match(rec.doc, /^my_report_[a-z0-9]{10}\.final\.txt$/);
    assert.deepEqual(storageFiles(rec.id), [rec.doc]);
    const res = await fetch(su.files.getURL(rec, rec.doc));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello upload');
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  });

  test('a view collection exposes its source records files (also through a view of a view)', async () => {
    const rec = await su.collection('posts').create({
      title: 'viewed',
      doc: new File(['seen through a view'], 'v.txt', { type: 'text/plain' }),
      gallery: [new File(['g1'], 'g1.txt'), new File(['g2'], 'g2.txt')],
    });
    await su.collections.create({
      name: 'post_files',
      type: 'view',
      viewRule: '',
      viewQuery: 'SELECT id, doc AS attachment, gallery FROM posts',
    });
    await su.collections.create({
      name: 'post_files2',
      type: 'view',
      viewRule: '',
      viewQuery: 'SELECT id, attachment FROM post_files',
    });
    for (const view of ['post_files', 'post_files2']) {
      const row = await su.collection(view).getOne(rec.id);
      assert.equal(row.attachment, rec.doc, view);
      const res = await fetch(su.files.getURL(row, row.attachment));
      assert.equal(res.status, 200, view);
      assert.equal(await res.text(), 'seen through a view');
    }
    const row = await su.collection('post_files').getOne(rec.id);
    const second = await fetch(su.files.getURL(row, row.gallery[1]));
    assert.equal(await second.text(), 'g2');
    // A name the view's record does not hold is not served, even when another record holds it.
    const other = await su.collection('posts').create({ doc: new File(['other'], 'o.txt') });
    const res = await fetch(`${srv.url}/api/files/post_files/${rec.id}/${other.doc}`);
    assert.equal(res.status, 404);
  });

  test('field+ appends, field- removes and deletes the file, a plain write keeps what is there', async () => {
    let rec = await su.collection('posts').create({
      title: 'g',
      gallery: [new File([PNG], 'one.png'), new File([PNG], 'two.png')],
    });
    assert.equal(rec.gallery.length, 2);
    rec = await su.collection('posts').update(rec.id, { 'gallery+': new File([PNG], 'three.png') });
    assert.equal(rec.gallery.length, 3);
    assert.match(rec.gallery[2], /^three_[a-z0-9]{10}\.png$/);
    const [first] = rec.gallery;
    rec = await su.collection('posts').update(rec.id, { 'gallery-': [first] });
    assert.equal(rec.gallery.length, 2);
    assert.ok(!rec.gallery.includes(first));
    assert.deepEqual(storageFiles(rec.id), [...rec.gallery].sort());
    // the SDK sends the record back as it read it: the names it holds are kept
    rec = await su.collection('posts').update(rec.id, { title: 'g2', gallery: rec.gallery });
    assert.equal(rec.gallery.length, 2);
    // names the record never held are refused, as PocketBase
    const err = await su
      .collection('posts')
      .update(rec.id, { gallery: [...rec.gallery, 'other_abcdefghij.png'] })
      .catch((e) => e);
    assert.equal(err.status, 400);
    assert.equal(err.response.data.gallery.code, 'validation_invalid_file');
    // clearing deletes them all
    rec = await su.collection('posts').update(rec.id, { gallery: [] });
    assert.deepEqual(rec.gallery, []);
    assert.deepEqual(storageFiles(rec.id), []);
  });

  test('size and sniffed type are checked and nothing is left behind', async () => {
    const big = await su
      .collection('posts')
      .create({ title: 'b', tiny: new File(['more than ten bytes'], 'big.txt') })
      .catch((e) => e);
    assert.equal(big.status, 400);
    assert.equal(big.response.data.tiny.code, 'validation_file_size_limit');

    const fake = await su
      .collection('posts')
      .create({ title: 'f', image: new File(['<svg onload=alert(1)>'], 'x.png', { type: 'image/png' }) })
      .catch((e) => e);
    assert.equal(fake.status, 400);
    assert.equal(fake.response.data.image.code, 'validation_invalid_mime_type');

    const ok = await su.collection('posts').create({ title: 'p', image: new File([PNG], 'pixel.png') });
    assert.match(ok.image, /^pixel_[a-z0-9]{10}\.png$/);

    const refused = await new PocketBase(srv.url)
      .collection('posts')
      .create({ title: 'refused', doc: new File(['x'], 'x.txt') })
      .catch((e) => e);
    assert.equal(refused.status, 400);
    const dir = path.join(srv.dir, 'storage', col.id);
    const folders = readdirSync(dir);
    for (const f of folders) {
      assert.ok((await su.collection('posts').getOne(f).catch(() => null)) !== null, `orphan folder ${f}`);
    }
  });

  test('a write refused for its password leaves no file (files are stored before the check)', async () => {
    const members = await su.collections.create({
      name: 'members',
      type: 'auth',
      createRule: '',
      fields: [{ name: 'photo', type: 'file' }],
    });
    const err = await su
      .collection('members')
      .create({
        email: 'pw@example.com',
        password: 'long-enough-1',
        passwordConfirm: 'something-else',
        photo: new File([PNG], 'face.png'),
      })
      .catch((e) => e);
    assert.equal(err.status, 400);
    assert.equal(err.response.data.passwordConfirm.code, 'validation_values_mismatch');
    const dir = path.join(srv.dir, 'storage', members.id);
    assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], []);
  });

  test('deleting a record deletes its files', async () => {
    const rec = await su.collection('posts').create({ title: 'd', doc: new File(['bye'], 'bye.txt') });
    assert.equal(storageFiles(rec.id).length, 1);
    await su.collection('posts').delete(rec.id);
    for (let i = 0; i < 50 && existsSync(path.join(srv.dir, 'storage', col.id, rec.id)); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(existsSync(path.join(srv.dir, 'storage', col.id, rec.id)), false);
  });
});
