// Files (issue 14, "Bad input"): upload names that try to leave storage or are far too long,
// zero-byte files and empty file inputs, broken multipart bodies around file parts, and a file
// field given a name as a JSON string. Every one gets a clear answer in the API's error shape (or
// a safe stored name), nothing is written outside <data dir>/storage/<collection>/<record>, and
// the server keeps serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
// The name PocketBase stores: snake-cased stem (3..100 characters), '_', 10 random characters,
// the cleaned extension.
const STORED = /^[a-z0-9_]{3,100}_[a-z0-9]{10}(\.[a-z0-9.]{1,20})?$/;

describe('files: bad input', () => {
  let srv;
  let su;
  let col;
  let token;

  // Every file under the data directory, relative to it, except the database's own files.
  const dataFiles = () => {
    const out = [];
    const walk = (dir) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else out.push(path.relative(srv.dir, p));
      }
    };
    walk(srv.dir);
    return out.filter((f) => !/^(data|auxiliary)\.db(-wal|-shm)?$/.test(f) && !f.startsWith('.tmp'));
  };
  const storageFiles = (recordId) => {
    const dir = path.join(srv.dir, 'storage', col.id, recordId);
    return existsSync(dir) ? readdirSync(dir).filter((n) => !n.endsWith('.attrs')).sort() : [];
  };
  // A hand-made multipart body for the records endpoint.
  const postMultipart = (body, boundary) =>
    fetch(`${srv.url}/api/collections/uploads/records`, {
      method: 'POST',
      headers: { Authorization: token, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
  const part = (boundary, name, filename, content, type = 'application/octet-stream') =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"` +
    (filename === null ? '' : `; filename="${filename}"`) +
    `\r\nContent-Type: ${type}\r\n\r\n${content}\r\n`;

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    token = su.authStore.token;
    col = await su.collections.create({
      name: 'uploads',
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'doc', type: 'file', maxSize: 1 << 20 },
        { name: 'docs', type: 'file', maxSelect: 10, maxSize: 1 << 20 },
      ],
    });
  });
  after(() => srv?.stop());

  test('names over 255 bytes are shortened to a stored name that fits', async () => {
    const longAscii = 'a'.repeat(1000) + '.txt';
    const longUtf8 = 'ü'.repeat(400) + '.txt'; // 800 bytes of stem
    const longExt = 'report.' + 'x'.repeat(300);
    const rec = await su.collection('uploads').create({
      docs: [new File(['one'], longAscii), new File(['two'], longUtf8), new File(['three'], longExt)],
    });
    assert.equal(rec.docs.length, 3);
    for (const name of rec.docs) {
      assert.ok(Buffer.byteLength(name) <= 150, `${name.length} bytes: ${name}`);
      assert.match(name, STORED);
    }
    assert.match(rec.docs[0], /^a{100}_[a-z0-9]{10}\.txt$/);
    assert.deepEqual(storageFiles(rec.id), [...rec.docs].sort());
    const bodies = await Promise.all(rec.docs.map((n) => fetch(su.files.getURL(rec, n)).then((r) => r.text())));
    assert.deepEqual(bodies, ['one', 'two', 'three']);
  });

  test('names that try to leave storage are stored as plain names inside the record folder', async () => {
    const before = new Set(dataFiles());
    const names = [
      '../../../etc/passwd',
      '..\\..\\windows\\win.ini',
      '%2e%2e%2f%2e%2e%2fescape.txt',
      '/abs/path.txt',
      '....//....//x.txt',
      'nul\u0000byte.txt',
      '.hidden',
      '..',
      'x.attrs',
    ];
    const rec = await su.collection('uploads').create({ docs: names.map((n, i) => new File([`f${i}`], n)) });
    assert.equal(rec.docs.length, names.length);
    for (const name of rec.docs) {
      assert.match(name, STORED);
      assert.ok(!name.includes('/') && !name.includes('\\') && !name.includes('\0'), name);
      assert.ok(!name.endsWith('.attrs'), name);
    }
    const added = dataFiles().filter((f) => !before.has(f));
    for (const f of added) {
      assert.ok(f.startsWith(path.join('storage', col.id, rec.id) + path.sep), `written outside the record: ${f}`);
    }
    assert.deepEqual(storageFiles(rec.id), [...rec.docs].sort());
  });

  test('traversal in a download path is a 404, never a file outside storage', async () => {
    const rec = await su.collection('uploads').create({ doc: new File(['inside'], 'inside.txt') });
    for (const name of ['..%2f..%2fdata.db', '%2e%2e%2fdata.db', '..%5cdata.db', 'x%00.txt', `${rec.doc}%00`]) {
      const res = await fetch(`${srv.url}/api/files/uploads/${rec.id}/${name}`);
      assert.equal(res.status, 404, name);
      const body = await res.json();
      assert.equal(body.status, 404);
    }
    const ok = await fetch(su.files.getURL(rec, rec.doc));
    assert.equal(await ok.text(), 'inside');
  });

  test('a zero-byte file is stored and served empty; a file input left empty sends no file', async () => {
    const rec = await su.collection('uploads').create({ title: 'z', doc: new File([], 'empty.txt') });
    assert.match(rec.doc, /^empty_[a-z0-9]{10}\.txt$/);
    const res = await fetch(su.files.getURL(rec, rec.doc));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '0');
    assert.equal(await res.text(), '');

    // What a browser sends for <input type=file> with nothing picked: a part without a file name
    // (filename=""), which is a plain empty value (it clears the field, as PocketBase reads it).
    const b = 'emptyinput42';
    const r = await postMultipart(part(b, 'title', null, 'no file') + part(b, 'doc', '', '') + `--${b}--\r\n`, b);
    assert.equal(r.status, 200, await r.clone().text());
    const created = await r.json();
    assert.equal(created.title, 'no file');
    assert.equal(created.doc, '');
    assert.deepEqual(storageFiles(created.id), []);
  });

  test('broken multipart bodies around a file part are refused and leave nothing', async () => {
    const b = 'brokenboundary7';
    const filesBefore = dataFiles().length;
    const cases = {
      // never closed: the last part runs to the end of the body
      unterminated: part(b, 'title', null, 'x') + `--${b}\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\n\r\nabc`,
      // the declared boundary never appears
      'wrong boundary': part('otherboundary', 'doc', 'a.txt', 'abc') + '--otherboundary--\r\n',
      // a part without headers' end
      'no header end': `--${b}\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\nabc\r\n--${b}--\r\n`,
    };
    for (const [label, body] of Object.entries(cases)) {
      const r = await postMultipart(body, b);
      assert.equal(r.status, 400, `${label}: ${r.status}`);
      const err = await r.json();
      assert.equal(err.status, 400, label);
      assert.equal(typeof err.message, 'string', label);
    }
    // an empty boundary parameter
    const r = await fetch(`${srv.url}/api/collections/uploads/records`, {
      method: 'POST',
      headers: { Authorization: token, 'Content-Type': 'multipart/form-data; boundary=' },
      body: part('', 'doc', 'a.txt', 'abc'),
    });
    assert.equal(r.status, 400);
    assert.equal(dataFiles().length, filesBefore, 'a refused body left a file');
    const health = await fetch(`${srv.url}/api/health`);
    assert.equal(health.status, 200);
  });

  test('a file field given a name as a JSON string is refused unless the record holds it', async () => {
    const err = await su
      .collection('uploads')
      .create({ title: 'json', doc: 'passwd_abcdefghij.txt' })
      .catch((e) => e);
    assert.equal(err.status, 400);
    assert.equal(err.response.data.doc.code, 'validation_invalid_file');

    const viaJson = await fetch(`${srv.url}/api/collections/uploads/records`, {
      method: 'POST',
      headers: { Authorization: token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ docs: ['../../data.db'] }),
    });
    assert.equal(viaJson.status, 400);
    assert.equal((await viaJson.json()).data.docs.code, 'validation_invalid_file');

    const rec = await su.collection('uploads').create({ doc: new File(['kept'], 'kept.txt') });
    const same = await su.collection('uploads').update(rec.id, { title: 'renamed', doc: rec.doc });
    assert.equal(same.doc, rec.doc);
    const other = await su
      .collection('uploads')
      .update(rec.id, { doc: 'kept_0000000000.txt' })
      .catch((e) => e);
    assert.equal(other.status, 400);
    assert.equal(other.response.data.doc.code, 'validation_invalid_file');
    assert.deepEqual(storageFiles(rec.id), [rec.doc]);
  });
});
