// Thumbnails (issue 14): `?thumb=` of an uploaded image as PocketBase serves it: 100x100 or a size
// the field lists, made once into `thumbs_<name>/<size>_<name>` beside the file, the original for
// anything else (a size not allowed, a bad size, an image that cannot be made a thumb of).
// Images are drawn here with a minimal PNG encoder (node's zlib); thumbs are read back with a
// minimal PNG decoder.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { SIGNATURE, chunk, encodePng, ihdr } from './png.mjs';
import PocketBase from 'pocketbase';
import { startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];

// An RGB PNG in three equal bands of red, green and blue: left to right, or top to bottom.
function png(width, height, { vertical = true } = {}) {
  return encodePng(width, height, (x, y) => [RED, GREEN, BLUE][Math.floor(((vertical ? x : y) * 3) / (vertical ? width : height))]);
}

// A decompression bomb's header: a tiny file that declares width x height.
function bomb(width, height) {
  const row = Buffer.alloc(1 + 3 * 16);
  return Buffer.concat([SIGNATURE, ihdr(width, height), chunk('IDAT', zlib.deflateSync(row)), chunk('IEND', Buffer.alloc(0))]);
}

// Decodes an 8-bit RGB or RGBA PNG: {width, height, at(x, y) -> [r, g, b]}.
function decodePng(buf) {
  assert.deepEqual(buf.subarray(0, 8), SIGNATURE, 'a PNG');
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  assert.equal(buf[24], 8, '8-bit');
  const channels = { 2: 3, 6: 4 }[buf[25]];
  assert.ok(channels, `colour type ${buf[25]}`);
  const idat = [];
  for (let off = 8; off < buf.length; ) {
    const len = buf.readUInt32BE(off);
    if (buf.toString('latin1', off + 4, off + 8) === 'IDAT') idat.push(buf.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const data = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = data[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = data[y * (stride + 1) + 1 + i];
      const a = i >= channels ? px[y * stride + i - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + i] : 0;
      const c = i >= channels && y > 0 ? px[(y - 1) * stride + i - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter];
      px[y * stride + i] = (x + pred) & 0xff;
    }
  }
  const at = (x, y) => [...px.subarray(y * stride + x * channels, y * stride + x * channels + 3)].map((v) => (v > 127 ? 255 : 0));
  return { width, height, at };
}

describe('thumbs', () => {
  let srv;
  let su;
  let pics;

  const upload = async (bytes, name = 'pic.png') => {
    const form = new FormData();
    form.append('image', new Blob([bytes], { type: 'image/png' }), name);
    return su.collection('pics').create(form);
  };
  const get = async (rec, size, headers = {}) => {
    const res = await fetch(su.files.getURL(rec, rec.image, size === undefined ? {} : { thumb: size }), { headers });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };
  const thumbsDir = (rec) => path.join(srv.dir, 'storage', pics.id, rec.id, `thumbs_${rec.image}`);
  const thumbFiles = (rec) => (existsSync(thumbsDir(rec)) ? readdirSync(thumbsDir(rec)).filter((f) => !f.endsWith('.attrs')) : []);

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    pics = await su.collections.create({
      name: 'pics',
      listRule: '',
      viewRule: '',
      fields: [{ name: 'image', type: 'file', thumbs: ['0x50', '50x0', '60x60f', '30x30', '30x30t', '30x30b', '600x600f'] }],
    });
  });
  after(() => srv?.stop());

  test('100x100 is made once, stored beside the file and served as an image', async () => {
    const rec = await upload(png(300, 150));
    const { res, body } = await get(rec, '100x100');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('content-disposition'), `inline; filename=100x100_${rec.image}`);
    const img = decodePng(body);
    assert.deepEqual([img.width, img.height], [100, 100]);
    assert.deepEqual(img.at(50, 50), GREEN); // the centre of a wide image
    assert.deepEqual(thumbFiles(rec), [`100x100_${rec.image}`]);

    // served again from storage, with its own validators
    const again = await get(rec, '100x100');
    assert.deepEqual(again.body, body);
    const etag = again.res.headers.get('etag');
    assert.ok(etag);
    assert.equal((await get(rec, '100x100', { 'If-None-Match': etag })).res.status, 304);
    const original = await get(rec);
    assert.notEqual(original.res.headers.get('etag'), etag);
  });

  test('each mode of the field thumbs list has its size', async () => {
    const rec = await upload(png(300, 150));
    for (const [size, w, h] of [
      ['0x50', 100, 50],
      ['50x0', 50, 25],
      ['60x60f', 60, 30],
      ['600x600f', 300, 150], // fit never enlarges
      ['30x30', 30, 30],
      ['30x30t', 30, 30],
      ['30x30b', 30, 30],
    ]) {
      const { res, body } = await get(rec, size);
      assert.equal(res.status, 200, size);
      const img = decodePng(body);
      assert.deepEqual([img.width, img.height], [w, h], size);
    }
    assert.equal(thumbFiles(rec).length, 7);
  });

  test('top, centre and bottom crops keep their part of a tall image', async () => {
    const rec = await upload(png(60, 180, { vertical: false }));
    assert.deepEqual(decodePng((await get(rec, '30x30t')).body).at(15, 15), RED);
    assert.deepEqual(decodePng((await get(rec, '30x30')).body).at(15, 15), GREEN);
    assert.deepEqual(decodePng((await get(rec, '30x30b')).body).at(15, 15), BLUE);
  });

  test('sizes not allowed and bad sizes answer the original', async () => {
    const bytes = png(80, 40);
    const rec = await upload(bytes);
    for (const size of ['40x40', '50x50', '99999x99999', '-1x5', 'abc', '0x0', '100x100x', '']) {
      const { res, body } = await get(rec, size);
      assert.equal(res.status, 200, size);
      assert.deepEqual(body, bytes, size);
      assert.equal(res.headers.get('content-disposition'), `inline; filename=${rec.image}`, size);
    }
    assert.deepEqual(thumbFiles(rec), []);
  });

  test('concurrent requests for a new thumb make one file and get the same image', async () => {
    const rec = await upload(png(400, 300));
    const all = await Promise.all(Array.from({ length: 8 }, () => get(rec, '100x100')));
    for (const { res, body } of all) {
      assert.equal(res.status, 200);
      assert.deepEqual(body, all[0].body);
    }
    assert.deepEqual([decodePng(all[0].body).width, decodePng(all[0].body).height], [100, 100]);
    assert.deepEqual(thumbFiles(rec), [`100x100_${rec.image}`]);
  });

  test('a decompression bomb gets the original and the server keeps serving', async () => {
    const bytes = bomb(30000, 30000);
    const rec = await upload(bytes, 'bomb.png');
    const { res, body } = await get(rec, '100x100');
    assert.equal(res.status, 200);
    assert.deepEqual(body, bytes);
    assert.deepEqual(thumbFiles(rec), []);
    // a damaged image too
    const broken = await upload(png(50, 50).subarray(0, 60), 'broken.png');
    assert.deepEqual((await get(broken, '100x100')).body, png(50, 50).subarray(0, 60));
    const ok = await upload(png(30, 30));
    assert.equal(decodePng((await get(ok, '100x100')).body).width, 100);
  });

  test('a replaced file takes its thumbs with it, a deleted record its folder', async () => {
    const rec = await upload(png(120, 60));
    await get(rec, '100x100');
    const oldDir = thumbsDir(rec);
    assert.ok(existsSync(oldDir));
    const form = new FormData();
    form.append('image', new Blob([png(60, 120)], { type: 'image/png' }), 'other.png');
    const updated = await su.collection('pics').update(rec.id, form);
    assert.notEqual(updated.image, rec.image);
    assert.equal(existsSync(oldDir), false);
    await get(updated, '100x100');
    assert.ok(existsSync(thumbsDir(updated)));
    await su.collection('pics').delete(updated.id);
    assert.equal(existsSync(path.join(srv.dir, 'storage', pics.id, updated.id)), false);
  });

  test('a thumb of a file that is not an image is the original', async () => {
    const form = new FormData();
    form.append('image', new Blob(['plain text'], { type: 'text/plain' }), 'note.txt');
    const rec = await su.collection('pics').create(form);
    const { res, body } = await get(rec, '100x100');
    assert.equal(res.status, 200);
    assert.equal(body.toString(), 'plain text');
    assert.deepEqual(thumbFiles(rec), []);
  });
});
