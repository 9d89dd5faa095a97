// S3 file storage (issue 14, Storage): with settings.s3 enabled, file fields' files go to the bucket
// (PocketBase's keys: <collectionId>/<recordId>/<filename>), downloads (ranges, thumbs) come from it,
// replaced and deleted files leave it; POST /api/settings/test/s3 as PocketBase; switching back to
// the local disk at runtime. The bucket is npm's s3rver behind a proxy that verifies every request's
// SigV4 signature (tests/api/s3_server.mjs), so a wrong secret is refused as S3 refuses it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { sleep, startServer } from './helpers.mjs';
import { encodePng } from './png.mjs';
import { ACCESS_KEY, SECRET, startS3 } from './s3_server.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const WRONG_SECRET = 'wrong-secret-' + randomBytes(6).toString('hex');
const MB = 1024 * 1024;

const sha = (b) => createHash('sha256').update(b).digest('hex');

// Polls `fn` until it returns true (deletes run after the commit) or 5 s pass.
async function eventually(fn, what) {
  for (let i = 0; i < 100; i++) {
    if (await fn()) return;
    await sleep(50);
  }
  assert.fail(what);
}

describe('files on S3', () => {
  let s3;
  let srv;
  let su;
  let docs;
  const s3Settings = (over = {}) => ({
    s3: {
      enabled: true,
      bucket: 'basalt',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      accessKey: ACCESS_KEY,
      secret: SECRET,
      forcePathStyle: true,
      ...over,
    },
  });
  const localFiles = (...parts) => {
    const dir = path.join(srv.dir, 'storage', ...parts);
    return existsSync(dir) ? readdirSync(dir).filter((f) => !f.endsWith('.attrs')) : [];
  };
  const testS3 = (body) =>
    fetch(`${srv.url}/api/settings/test/s3`, {
      method: 'POST',
      headers: { Authorization: su.authStore.token, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  before(async () => {
    s3 = await startS3();
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    docs = await su.collections.create({
      name: 'docs',
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: '',
      deleteRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'one', type: 'file', maxSize: 64 * MB },
        { name: 'many', type: 'file', maxSelect: 3, maxSize: 64 * MB, thumbs: ['20x20'] },
      ],
    });
    const saved = await su.settings.update(s3Settings());
    assert.equal(saved.s3.enabled, true);
    assert.equal(saved.s3.secret, '', 'the secret is never returned');
  });
  after(async () => {
    await srv?.stop();
    await s3?.close();
  });

  test('test/s3 writes and deletes a test object with the saved settings', async () => {
    const before = s3.requests.length;
    const res = await testS3({ filesystem: 'storage' });
    assert.equal(res.status, 204, await res.text());
    const made = s3.requests.slice(before);
    assert.ok(made.some((r) => r.method === 'PUT' && /^\/basalt\/pb_settings_test_[A-Za-z0-9]{5}\/test\.txt$/.test(r.url)));
    assert.ok(made.some((r) => r.method === 'GET' && r.url.includes('list-type=2')));
    assert.ok(made.some((r) => r.method === 'DELETE'));
    assert.deepEqual(await s3.keys('pb_settings_test_'), [], 'the test object is gone');
  });

  test('test/s3 validates its body and needs a superuser', async () => {
    let res = await testS3();
    assert.equal(res.status, 400);
    let body = await res.json();
    assert.equal(body.message, 'Failed to test the S3 filesystem.');
    assert.equal(body.data.filesystem.code, 'validation_required');
    res = await testS3({ filesystem: 'invalid' });
    body = await res.json();
    assert.equal(res.status, 400);
    assert.equal(body.data.filesystem.code, 'validation_in_invalid');
    res = await testS3({ filesystem: 'backups' }); // backups.s3 is not enabled
    body = await res.json();
    assert.equal(res.status, 400);
    assert.deepEqual(body.data, {});
    assert.match(body.message, /not enabled/);
    res = await fetch(`${srv.url}/api/settings/test/s3`, { method: 'POST', body: '{"filesystem":"storage"}' });
    assert.equal(res.status, 401);
  });

  test('settings.s3 needs its fields when enabled', async () => {
    const err = await su.settings.update(s3Settings({ bucket: '', region: '' })).catch((e) => e);
    assert.equal(err.status, 400);
    assert.equal(err.response.data.s3.bucket.code, 'validation_required');
    assert.equal(err.response.data.s3.region.code, 'validation_required');
  });

  let rec;
  const small = Buffer.from('hello from S3, a small text file');
  const image = encodePng(64, 48, () => [0x80, 0x80, 0x80]);  // one grey
  const big = randomBytes(9 * MB + 12345); // > one 8 MiB part: a multipart upload

  test('uploads go to the bucket under <collectionId>/<recordId>/<filename>', async () => {
    const before = s3.requests.length;
    const form = new FormData();
    form.append('title', 'on s3');
    form.append('one', new Blob([small], { type: 'text/plain' }), 'hello.txt');
    form.append('many', new Blob([image]), 'pic.png');
    form.append('many', new Blob([big]), 'big.bin');
    rec = await su.collection('docs').create(form);
    assert.match(rec.one, /^hello_[a-z0-9]{10}\.txt$/);
    assert.equal(rec.many.length, 2);
    const keys = await s3.keys(`${docs.id}/`);
    assert.deepEqual(keys, [rec.one, ...rec.many].map((n) => `${docs.id}/${rec.id}/${n}`).sort());
    assert.deepEqual(localFiles(docs.id), [], 'nothing on the local disk');
    const made = s3.requests.slice(before);
    const bigName = rec.many.find((n) => n.startsWith('big_'));
    const bigUrl = `/basalt/${docs.id}/${rec.id}/${bigName}`;
    assert.ok(made.some((r) => r.method === 'POST' && r.url === `${bigUrl}?uploads=`), 'a multipart upload');
    assert.equal(made.filter((r) => r.method === 'PUT' && r.url.startsWith(`${bigUrl}?partNumber=`)).length, 2, 'two parts');
    assert.ok(made.some((r) => r.method === 'POST' && r.url.startsWith(`${bigUrl}?uploadId=`)), 'completed');
    const put = made.find((r) => r.method === 'PUT' && r.url === `/basalt/${docs.id}/${rec.id}/${rec.one}`);
    assert.ok(put, 'a small file is one PUT');
    assert.match(put.contentType, /^text\/plain/);
    // The object carries its content type.
    const head = await fetch(`${s3.direct}/basalt/${docs.id}/${rec.id}/${rec.many[0]}`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-type'), 'image/png');
  });

  test('downloads come from the bucket: whole, ranges and thumbs', async () => {
    let res = await fetch(su.files.getURL(rec, rec.one));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain/);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), small);

    res = await fetch(su.files.getURL(rec, rec.one), { headers: { Range: 'bytes=6-9' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes 6-9/${small.length}`);
    assert.equal(await res.text(), 'from');

    const bigName = rec.many.find((n) => n.startsWith('big_'));
    res = await fetch(su.files.getURL(rec, bigName));
    assert.equal(res.status, 200);
    assert.equal(sha(Buffer.from(await res.arrayBuffer())), sha(big));
    const from = 8 * MB - 100;
    const before = s3.requests.length;
    res = await fetch(su.files.getURL(rec, bigName), { headers: { Range: `bytes=${from}-${from + 999}` } });
    assert.equal(res.status, 206);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), big.subarray(from, from + 1000));
    assert.ok(s3.requests.slice(before).some((r) => r.method === 'GET' && r.range), 'read with Range GETs');

    const pic = rec.many.find((n) => n.startsWith('pic_'));
    res = await fetch(su.files.getURL(rec, pic, { thumb: '20x20' }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    const thumb = Buffer.from(await res.arrayBuffer());
    assert.equal(thumb.readUInt32BE(16), 20);
    assert.ok((await s3.keys(`${docs.id}/${rec.id}/thumbs_${pic}/`)).includes(`${docs.id}/${rec.id}/thumbs_${pic}/20x20_${pic}`));

    res = await fetch(su.files.getURL(rec, 'missing_abcdefghij.txt'));
    assert.equal(res.status, 404);
  });

  test('a replaced file and a deleted record leave the bucket', async () => {
    const oldOne = rec.one;
    const form = new FormData();
    form.append('one', new Blob([Buffer.from('replacement')], { type: 'text/plain' }), 'new.txt');
    const updated = await su.collection('docs').update(rec.id, form);
    assert.notEqual(updated.one, oldOne);
    await eventually(async () => !(await s3.keys(`${docs.id}/${rec.id}/`)).includes(`${docs.id}/${rec.id}/${oldOne}`), 'the replaced file is deleted');
    const res = await fetch(su.files.getURL(updated, updated.one));
    assert.equal(await res.text(), 'replacement');

    const pic = updated.many.find((n) => n.startsWith('pic_'));
    await su.collection('docs').update(rec.id, { 'many-': [pic] });
    await eventually(async () => (await s3.keys(`${docs.id}/${rec.id}/`)).every((k) => !k.includes(pic)), 'a removed file goes with its thumbs');

    await su.collection('docs').delete(rec.id);
    await eventually(async () => (await s3.keys(`${docs.id}/${rec.id}/`)).length === 0, 'the record folder is emptied');
  });

  test('a wrong secret is refused (signature) and never shown', async () => {
    await su.settings.update(s3Settings({ secret: WRONG_SECRET }));
    const refusedBefore = s3.refused;
    const res = await testS3({ filesystem: 'storage' });
    assert.equal(res.status, 400);
    const text = await res.text();
    const body = JSON.parse(text);
    assert.match(body.message, /^Failed to test the S3 filesystem\. Raw error: \n/);
    assert.match(body.message, /SignatureDoesNotMatch/);
    assert.deepEqual(body.data, {});
    assert.ok(s3.refused > refusedBefore, 'the proxy refused the signature');

    const form = new FormData();
    form.append('one', new Blob([small], { type: 'text/plain' }), 'x.txt');
    const err = await su.collection('docs').create(form).catch((e) => e);
    assert.ok(err.status >= 400, 'an upload with a wrong secret fails');
    const settings = await su.settings.getAll();
    for (const seen of [text, JSON.stringify(err.response ?? {}), JSON.stringify(settings), srv.stdout(), srv.stderr()]) {
      assert.ok(!seen.includes(WRONG_SECRET), 'the secret never appears');
    }
    await su.settings.update(s3Settings());
    assert.equal((await testS3({ filesystem: 'storage' })).status, 204);
  });

  test('switching back to the local disk at runtime', async () => {
    await su.settings.update({ s3: { enabled: false } });
    const form = new FormData();
    form.append('one', new Blob([Buffer.from('local again')], { type: 'text/plain' }), 'local.txt');
    const local = await su.collection('docs').create(form);
    assert.deepEqual(localFiles(docs.id, local.id), [local.one]);
    assert.deepEqual(await s3.keys(`${docs.id}/${local.id}/`), []);
    const res = await fetch(su.files.getURL(local, local.one));
    assert.equal(await res.text(), 'local again');

    // And to S3 again: new uploads go there, the local file stays where it is.
    await su.settings.update(s3Settings());
    const form2 = new FormData();
    form2.append('one', new Blob([Buffer.from('s3 again')], { type: 'text/plain' }), 'again.txt');
    const again = await su.collection('docs').create(form2);
    assert.deepEqual(await s3.keys(`${docs.id}/${again.id}/`), [`${docs.id}/${again.id}/${again.one}`]);
    assert.equal(await (await fetch(su.files.getURL(again, again.one))).text(), 's3 again');
  });
});
