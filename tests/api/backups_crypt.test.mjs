// Encrypted backups (issue 16): a server with BASALT_BACKUP_KEY makes archives that are not zips
// and hold no plaintext, restores them, and refuses — with the reason, the data unchanged — an
// archive made with another key, a tampered one and a cut one. The CLI verifies with the key from
// the environment or a file, and refuses without it; a plain zip restores with a key configured;
// the schedule's backups are encrypted as well, and so are those kept in S3 (settings.backups.s3).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { cli, failure, sleep, startServer, waitHealthy } from './helpers.mjs';
import { ACCESS_KEY, SECRET as S3_SECRET, startS3 } from './s3_server.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(32).toString('hex');
const SECRET = 'the-plaintext-title-nobody-may-read-' + 'x'.repeat(64);
const MAGIC = 'BASALTENC1';
// Hardly compressible: the archive spans several 64 KiB chunks.
const FILE_TEXT = SECRET + ' in a file ' + randomBytes(200_000).toString('base64');

describe('encrypted backups', () => {
  let srv;
  let su;
  let work;
  let archive; // the encrypted backup's bytes
  let first;

  const titles = async () => (await su.collection('notes').getFullList({ sort: 'title' })).map((r) => r.title);
  const download = async (key) => {
    const token = await su.files.getToken();
    return Buffer.from(await (await fetch(su.backups.getDownloadURL(token, key))).arrayBuffer());
  };
  const refused = async (key, reason) => {
    const before = await titles();
    const r = await failure(su.backups.restore(key));
    assert.equal(r.status, 400, key);
    assert.match(r.data.message, /^The backup cannot be restored: /, key);
    assert.match(r.data.message, reason, `${key}: ${r.data.message}`);
    assert.deepEqual(await titles(), before, key);
    assert.equal(srv.proc.exitCode, null);
  };

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'basalt-crypt-'));
    srv = await startServer({ superuser: SU, env: { BASALT_BACKUP_KEY: KEY } });
    su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({
      name: 'notes',
      type: 'base',
      listRule: '',
      viewRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'doc', type: 'file', maxSelect: 1, maxSize: 1 << 20 },
      ],
    });
    const form = new FormData();
    form.append('title', SECRET);
    form.append('doc', new Blob([FILE_TEXT]), 'first.txt');
    first = await su.collection('notes').create(form);
  });

  after(async () => {
    await srv?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('a malformed key stops the server at start', async () => {
    await assert.rejects(
      startServer({ env: { BASALT_BACKUP_KEY: 'not-a-key' } }),
      /server exited with 1: .*BASALT_BACKUP_KEY: the backup key is not 32 bytes/s,
    );
  });

  test('the SDK makes a backup that is encrypted: no zip signature, no plaintext', async () => {
    assert.equal(await su.backups.create('enc.zip'), true);
    archive = await download('enc.zip');
    assert.ok(archive.length > 1000);
    assert.notEqual(archive.subarray(0, 2).toString('latin1'), 'PK');
    assert.equal(archive.subarray(0, MAGIC.length).toString('latin1'), MAGIC);
    assert.equal(archive.indexOf(Buffer.from(SECRET.slice(0, 24))), -1);
    assert.equal(archive.indexOf(Buffer.from('data.db')), -1, 'not even the entry names');
    const list = await su.backups.getFullList();
    assert.equal(list.find((b) => b.key === 'enc.zip').size, archive.length);
    writeFileSync(path.join(work, 'enc.zip'), archive);
  });

  test('an upload of an encrypted archive is accepted; tampered or cut, its restore is refused', async () => {
    assert.equal(await su.backups.upload({ file: new File([archive], 'copy.zip') }), true);
    assert.deepEqual(await download('copy.zip'), archive);

    const flipped = Buffer.from(archive);
    const at = 48 + (65536 + 17) + 1000; // inside the second chunk
    assert.ok(archive.length > at + 100, 'the archive spans more than two chunks');
    flipped[at] ^= 0x01;
    await su.backups.upload({ file: new File([flipped], 'tampered.zip') });
    await refused('tampered.zip', /the archive was tampered with: chunk 2 fails authentication/);

    await su.backups.upload({ file: new File([archive.subarray(0, 48 + (65536 + 17))], 'cut.zip') });
    await refused('cut.zip', /the archive is truncated: it ends after chunk 1 without its final chunk/);
    await su.backups.upload({ file: new File([archive.subarray(0, archive.length - 5)], 'cut2.zip') });
    await refused('cut2.zip', /damaged or truncated: its last chunk \(\d+\) fails authentication/);

    const header = Buffer.from(archive);
    header[10] = 9;
    await su.backups.upload({ file: new File([header], 'header.zip') });
    await refused('header.zip', /encrypted in format version 9/);

    const text = await failure(su.backups.upload({ file: new File(['BASALTENC'], 'short.zip') }));
    assert.equal(text.data.data.file.code, 'validation_invalid_mime_type');

    const tmp = path.join(srv.dir, '.tmp');
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('restore')) : [], []);
  });

  test('an archive made with another key is refused, naming the key ids', async () => {
    const made = cli(['backup', 'create', 'other.zip', '--dir', srv.dir], {
      env: { ...process.env, BASALT_BACKUP_KEY: OTHER_KEY },
    });
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /Successfully created backup "other\.zip" \(encrypted, key id [0-9a-f]{16}\)/);
    await refused('other.zip', /encrypted with another key \(its key id is [0-9a-f]{16}, the configured key's is [0-9a-f]{16}\)/);
  });

  test('a scheduled backup is encrypted too', async () => {
    await su.settings.update({ backups: { cron: '0 3 * * *', cronMaxKeep: 3 } });
    const autoKeys = async () => (await su.backups.getFullList()).map((b) => b.key).filter((k) => k.startsWith('@auto_'));
    await su.crons.run('__pbAutoBackup__');
    let keys = [];
    for (let i = 0; i < 200 && keys.length === 0; i++) {
      keys = await autoKeys();
      if (keys.length === 0) await sleep(50);
    }
    assert.equal(keys.length, 1, 'the scheduled backup did not appear');
    const bytes = await download(keys[0]);
    assert.equal(bytes.subarray(0, MAGIC.length).toString('latin1'), MAGIC);
    assert.equal(bytes.indexOf(Buffer.from(SECRET.slice(0, 24))), -1);
    await su.settings.update({ backups: { cron: '' } });
  });

  test('the CLI verifies with the key from the environment or a file, and refuses without it', () => {
    const withEnv = cli(['backup', 'verify', 'enc.zip', '--dir', srv.dir], {
      env: { ...process.env, BASALT_BACKUP_KEY: KEY },
    });
    assert.equal(withEnv.status, 0, withEnv.stderr);
    assert.match(withEnv.stdout, /intact and restorable/);

    const keyFile = path.join(work, 'backup.key');
    writeFileSync(keyFile, KEY + '\n');
    chmodSync(keyFile, 0o600);
    const withFile = cli(['backup', 'verify', path.join(work, 'enc.zip'), '--dir', srv.dir, '--backup-key-file', keyFile]);
    assert.equal(withFile.status, 0, withFile.stderr);
    chmodSync(keyFile, 0o644);
    const open = cli(['backup', 'verify', 'enc.zip', '--dir', srv.dir, '--backup-key-file', keyFile]);
    assert.equal(open.status, 1);
    assert.match(open.stderr, /readable by every user/);

    const env = { ...process.env };
    delete env.BASALT_BACKUP_KEY;
    const without = cli(['backup', 'verify', 'enc.zip', '--dir', srv.dir], { env });
    assert.equal(without.status, 1);
    assert.match(without.stderr, /cannot be restored: the archive is encrypted and no backup key is configured/);
    const tampered = cli(['backup', 'verify', 'tampered.zip', '--dir', srv.dir], {
      env: { ...process.env, BASALT_BACKUP_KEY: KEY },
    });
    assert.equal(tampered.status, 1);
    assert.match(tampered.stderr, /tampered with: chunk 2/);

    // Without a key the CLI makes a plain zip, which verifies with or without a key.
    const plain = cli(['backup', 'create', 'plain.zip', '--dir', srv.dir], { env });
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stdout, /Successfully created backup "plain\.zip"\.\n/);
    const withKey = cli(['backup', 'verify', 'plain.zip', '--dir', srv.dir], {
      env: { ...process.env, BASALT_BACKUP_KEY: KEY },
    });
    assert.equal(withKey.status, 0, withKey.stderr);
  });

  test('a restore of the encrypted backup brings the data back', async () => {
    await su.collection('notes').create({ title: 'after the backup' });
    await su.collection('notes').delete(first.id);
    assert.equal(await su.backups.restore('enc.zip'), true);
    await waitHealthy(srv.url);
    const notes = await su.collection('notes').getFullList();
    assert.deepEqual(notes.map((n) => [n.id, n.title]), [[first.id, SECRET]]);
    const file = await fetch(su.files.getURL(notes[0], notes[0].doc));
    assert.equal(await file.text(), FILE_TEXT);
  });

  test('a plain zip restores on a server that has a key', async () => {
    await su.collection('notes').create({ title: 'not in the plain backup' });
    assert.equal(await su.backups.restore('plain.zip'), true);
    await waitHealthy(srv.url);
    assert.deepEqual(await titles(), [SECRET]);
  });
});

describe('encrypted backups in S3', () => {
  let s3;
  let srv;
  let su;

  before(async () => {
    s3 = await startS3();
    srv = await startServer({ superuser: SU, env: { BASALT_BACKUP_KEY: KEY } });
    su = new PocketBase(srv.url);
    su.autoCancellation(false);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }] });
    await su.collection('notes').create({ title: SECRET });
    await su.settings.update({
      backups: {
        s3: { enabled: true, bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, accessKey: ACCESS_KEY, secret: S3_SECRET, forcePathStyle: true },
      },
    });
  });
  after(async () => {
    await srv?.stop();
    await s3?.close();
  });

  test('the object in the bucket is the encrypted archive, and it restores', async () => {
    await su.backups.create('bucket.zip');
    assert.deepEqual(await s3.keys(), ['bucket.zip']);
    const stored = Buffer.from(await (await fetch(`${s3.direct}/${s3.bucket}/bucket.zip`)).arrayBuffer());
    assert.equal(stored.subarray(0, MAGIC.length).toString('latin1'), MAGIC);
    assert.equal(stored.indexOf(Buffer.from(SECRET.slice(0, 24))), -1);
    await su.collection('notes').create({ title: 'after the backup' });
    assert.equal(await su.backups.restore('bucket.zip'), true);
    await waitHealthy(srv.url);
    assert.deepEqual((await su.collection('notes').getFullList()).map((n) => n.title), [SECRET]);
  });
});
