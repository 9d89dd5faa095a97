// Large uploads stream to disk as they arrive and downloads stream from it (issue: files): a 200 MB
// upload and its download keep the server's memory near idle, a client that disconnects mid-upload leaves nothing behind, the upload limit
// answers 413, and a chunked upload is read the same way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { sleep, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const MB = 1024 * 1024;

// The process's resident memory now and at its peak since the last reset, in bytes.
function resetPeak(pid) {
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // the peak so far (an argon2id hash takes 64 MB) is forgotten
}
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))[1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

// The server's open files that were spool files (unnamed files of <data dir>/.tmp).
function openSpoolFiles(srv) {
  const fds = readdirSync(`/proc/${srv.proc.pid}/fd`);
  return fds
    .map((fd) => {
      try {
        return readlinkSync(`/proc/${srv.proc.pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.includes(path.join(srv.dir, '.tmp')));
}

function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).filter((n) => !n.endsWith('.attrs'));
}

describe('streamed uploads', () => {
  let srv;
  let su;
  let coll;

  before(async () => {
    srv = await startServer({ superuser: SU, args: ['--max-upload', String(240 * MB)] });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    coll = await su.collections.create({
      name: 'big',
      createRule: '',
      viewRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'blob', type: 'file', maxSize: 230 * MB },
      ],
    });
  });
  after(() => srv?.stop());

  test('a 200 MB upload is stored whole while memory stays near idle', async () => {
    const bytes = Buffer.alloc(200 * MB);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE(i, i);
    resetPeak(srv.proc.pid);
    const idle = memory(srv.proc.pid);
    const form = new FormData();
    form.append('title', 'two hundred');
    form.append('blob', new Blob([bytes]), 'big.bin');
    const rec = await su.collection('big').create(form);
    const after = memory(srv.proc.pid);
    // Kept in memory, the body alone would add 200 MB (and its copies more): streamed, the peak
    // stays within a few buffers of idle.
    assert.ok(after.peak - idle.rss < 40 * MB, `peak ${after.peak} vs idle ${idle.rss}`);
    assert.equal(rec.title, 'two hundred');
    assert.match(rec.blob, /^big_[a-z0-9]{10}\.bin$/);
    // The download streams too: the file is never held whole in the server's memory.
    resetPeak(srv.proc.pid);
    const res = await fetch(`${srv.url}/api/files/${coll.id}/${rec.id}/${rec.blob}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(bytes.length));
    const got = Buffer.from(await res.arrayBuffer());
    const served = memory(srv.proc.pid);
    assert.ok(served.peak - idle.rss < 40 * MB, `download peak ${served.peak} vs idle ${idle.rss}`);
    const tail = await fetch(`${srv.url}/api/files/${coll.id}/${rec.id}/${rec.blob}`, {
      headers: { Range: `bytes=${bytes.length - 10}-` },
    });
    assert.equal(tail.status, 206);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10)));
    assert.equal(got.length, bytes.length);
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
    assert.deepEqual(openSpoolFiles(srv), []);
  });

  test('a client that disconnects mid-upload leaves no file and no open spool file', async () => {
    const before = filesUnder(path.join(srv.dir, 'storage', coll.id));
    const boundary = 'XyZbOuNdArY';
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="blob"; filename="cut.bin"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n';
    await new Promise((resolve, reject) => {
      const sock = net.connect(srv.port, '127.0.0.1', async () => {
        sock.write(
          `POST /api/collections/big/records HTTP/1.1\r\nHost: x\r\n` +
            `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${50 * MB}\r\n\r\n` +
            head,
        );
        for (let i = 0; i < 5; ++i) {
          sock.write(Buffer.alloc(MB, 7));
          await sleep(20);
        }
        await sleep(200);
        // The spool file exists while the body arrives (unnamed: no entry in the folder).
        assert.equal(openSpoolFiles(srv).length, 1);
        assert.deepEqual(readdirSync(path.join(srv.dir, '.tmp')), []);
        sock.destroy();
        resolve();
      });
      sock.on('error', reject);
    });
    let open = openSpoolFiles(srv);
    for (let i = 0; i < 50 && open.length > 0; ++i) {
      await sleep(50);
      open = openSpoolFiles(srv);
    }
    assert.deepEqual(open, []);
    assert.deepEqual(filesUnder(path.join(srv.dir, 'storage', coll.id)), before);
    assert.equal((await fetch(`${srv.url}/api/health`)).status, 200);
  });

  test('an upload over --max-upload is refused with 413, a JSON body over --max-body too', async () => {
    const boundary = 'b0und';
    const res = await new Promise((resolve, reject) => {
      const sock = net.connect(srv.port, '127.0.0.1', () => {
        sock.write(
          `POST /api/collections/big/records HTTP/1.1\r\nHost: x\r\n` +
            `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${250 * MB}\r\n\r\n`,
        );
      });
      let data = '';
      sock.on('data', (d) => (data += d));
      sock.on('close', () => resolve(data));
      sock.on('error', reject);
    });
    assert.match(res, /^HTTP\/1\.1 413 /);
    const json = await fetch(`${srv.url}/api/collections/big/records`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'x'.repeat(33 * MB) }),
    }).catch((e) => e);
    assert.ok(json.status === 413 || json instanceof Error, 'JSON bodies keep the in-memory limit');
    assert.equal((await fetch(`${srv.url}/api/health`)).status, 200);
  });

  test('a chunked multipart upload is streamed and stored', async () => {
    const boundary = 'cHuNkEd';
    const payload = Buffer.alloc(3 * MB, 0x41);
    const parts = [
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nchunked\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="blob"; filename="c.txt"\r\n\r\n`),
      payload,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ];
    const body = new ReadableStream({
      start(controller) {
        for (const p of parts) controller.enqueue(p);
        controller.close();
      },
    });
    const res = await fetch(`${srv.url}/api/collections/big/records`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: 'half',
    });
    assert.equal(res.status, 200, await res.clone().text());
    const rec = await res.json();
    assert.equal(rec.title, 'chunked');
    const file = await fetch(`${srv.url}/api/files/${coll.id}/${rec.id}/${rec.blob}`);
    assert.equal(Buffer.from(await file.arrayBuffer()).equals(payload), true);
  });

  test('a spooled upload that fails validation leaves no file behind', async () => {
    const small = await su.collections.create({
      name: 'small',
      createRule: '',
      fields: [{ name: 'blob', type: 'file', maxSize: 1 * MB }],
    });
    const form = new FormData();
    form.append('blob', new Blob([Buffer.alloc(2 * MB, 1)]), 'too_big.bin');
    const err = await su.collection('small').create(form).catch((e) => e);
    assert.equal(err.status, 400);
    assert.equal(err.response.data.blob.code, 'validation_file_size_limit');
    assert.deepEqual(filesUnder(path.join(srv.dir, 'storage', small.id)), []);
    assert.deepEqual(openSpoolFiles(srv), []);
  });
});
