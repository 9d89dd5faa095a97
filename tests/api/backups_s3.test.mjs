// Backups in S3 (PocketBase's settings.backups.s3): with it enabled, every backup call works on the
// bucket's root instead of <data dir>/backups — create (the archive made locally, then uploaded),
// list (only backup names; the bucket may hold other things), download, upload, delete, scheduled
// backups and their pruning, and restore (downloaded beside the data, then restored as usual).
// Switching it off goes back to the folder. The bucket is npm's s3rver behind the SigV4-verifying
// proxy of tests/api/s3_server.mjs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { cliAsync, failure, sleep, startServer, waitHealthy } from './helpers.mjs';
import { ACCESS_KEY, SECRET, startS3 } from './s3_server.mjs';

const SU = { email: 's3b@example.com', password: 's3b-password-1' };

describe('backups in S3', () => {
  let s3;
  let srv;
  let su;
  let note;
  const localBackups = () => {
    const dir = path.join(srv.dir, 'backups');
    return existsSync(dir) ? readdirSync(dir).filter((n) => !n.startsWith('.')) : [];
  };
  const keys = async () => (await su.backups.getFullList()).map((b) => b.key).sort();
  const download = async (key) => {
    const token = await su.files.getToken();
    const res = await fetch(su.backups.getDownloadURL(token, key));
    assert.equal(res.status, 200);
    return Buffer.from(await res.arrayBuffer());
  };

  before(async () => {
    s3 = await startS3();
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    su.autoCancellation(false);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }] });
    note = await su.collection('notes').create({ title: 'kept in the bucket' });
    await su.backups.create('local-only.zip'); // made before the switch: stays in the folder
    const saved = await su.settings.update({
      backups: {
        s3: { enabled: true, bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, accessKey: ACCESS_KEY, secret: SECRET, forcePathStyle: true },
      },
    });
    assert.equal(saved.backups.s3.secret, '', 'the secret is never returned');
    // Something else in the bucket (file storage sharing it, a stray object): never listed as a backup.
    for (const key of ['c1/r1/file.txt', 'notes.txt']) {
      assert.equal((await fetch(`${s3.direct}/${s3.bucket}/${key}`, { method: 'PUT', body: 'x' })).status, 200);
    }
  });
  after(async () => {
    await srv?.stop();
    await s3?.close();
  });

  test('create uploads to the bucket; the list is the bucket\'s backups; nothing new in the folder', async () => {
    await su.backups.create('one.zip');
    assert.deepEqual(await s3.keys(), ['c1/r1/file.txt', 'notes.txt', 'one.zip']);
    assert.deepEqual(localBackups(), ['local-only.zip']);
    const list = await su.backups.getFullList();
    assert.deepEqual(list.map((b) => b.key), ['one.zip']);
    assert.ok(list[0].size > 1000);
    assert.ok(Math.abs(Date.parse(list[0].modified.replace(' ', 'T')) - Date.now()) < 60_000, list[0].modified);
    const e = await failure(su.backups.create('one.zip'));
    assert.equal(e.data.data.name.code, 'validation_backup_name_exists');
  });

  test('download streams the object; upload puts one; a name in use is refused', async () => {
    const bytes = await download('one.zip');
    const direct = Buffer.from(await (await fetch(`${s3.direct}/${s3.bucket}/one.zip`)).arrayBuffer());
    assert.ok(bytes.equals(direct), 'the download is the object');
    assert.equal(bytes.subarray(0, 2).toString(), 'PK');
    await su.backups.upload({ file: new File([bytes], 'two.zip', { type: 'application/zip' }) });
    assert.deepEqual(await keys(), ['one.zip', 'two.zip']);
    const e = await failure(su.backups.upload({ file: new File([bytes], 'two.zip', { type: 'application/zip' }) }));
    assert.equal(e.data.data.file.code, 'validation_backup_name_exists');
    assert.deepEqual(localBackups(), ['local-only.zip']);
  });

  test('a bucket that cannot be reached: create fails with 400 and leaves nothing behind', async () => {
    const closed = 'http://127.0.0.1:9'; // the discard port: nothing listens there
    await su.settings.update({ backups: { s3: { endpoint: closed } } });
    try {
      const e = await failure(su.backups.create('unreachable.zip'));
      assert.equal(e.status, 400);
      assert.equal(e.data.message, 'Failed to create backup.');
      const dir = path.join(srv.dir, 'backups');
      assert.deepEqual(readdirSync(dir).filter((n) => n !== '.lock' && n !== 'local-only.zip'), [], 'no archive or temp file left');
    } finally {
      await su.settings.update({ backups: { s3: { endpoint: s3.endpoint } } });
    }
    assert.ok(!(await s3.keys()).includes('unreachable.zip'));
    assert.ok((await keys()).includes('one.zip'), 'the bucket is used again');
  });

  test('delete removes the object; a missing one is 400 as PocketBase', async () => {
    await su.backups.delete('two.zip');
    assert.ok(!(await s3.keys()).includes('two.zip'));
    const e = await failure(su.backups.delete('two.zip'));
    assert.equal(e.status, 400);
  });

  test('scheduled backups go to the bucket and are pruned there', async () => {
    await su.settings.update({ backups: { cron: '0 4 * * *', cronMaxKeep: 1 } });
    const autos = async () => (await s3.keys()).filter((k) => k.startsWith('@auto_pb_backup_'));
    for (let run = 0; run < 2; run++) {
      const before = JSON.stringify(await autos());
      await su.crons.run('__pbAutoBackup__');
      for (let i = 0; i < 200 && JSON.stringify(await autos()) === before; i++) await sleep(50);
      await sleep(1100); // names carry the second
    }
    const left = await autos();
    assert.equal(left.length, 1, 'cronMaxKeep 1 keeps one');
    assert.ok((await keys()).includes(left[0]));
    assert.ok((await s3.keys()).includes('one.zip'), 'a backup made by hand is never pruned');
    await su.settings.update({ backups: { cron: '' } });
  });

  test('restore downloads the backup and restores it; the server comes back on it', async () => {
    await su.collection('notes').update(note.id, { title: 'changed after the backup' });
    assert.equal(await su.backups.restore('one.zip'), true);
    await waitHealthy(srv.url);
    assert.equal((await su.collection('notes').getOne(note.id)).title, 'kept in the bucket');
    const tmp = path.join(srv.dir, '.tmp');
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('restore') && n !== 'restore.lock'), [], 'no download left');
    // The restored settings still keep backups in the bucket (one.zip was made with them).
    assert.ok((await keys()).includes('one.zip'));
  });

  // cliAsync: the bucket is served by this test process, which must not block while the CLI runs.
  test('the CLI reads settings.backups.s3 as the server does: list, create and verify on the bucket', async () => {
    const list = await cliAsync(['backup', 'list', '--dir', srv.dir]);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(list.stdout.trim().split('\n').map((l) => l.split('\t')[0]), await keys());
    const made = await cliAsync(['backup', 'create', 'from-cli.zip', '--dir', srv.dir]);
    assert.equal(made.status, 0, made.stderr);
    assert.ok((await s3.keys()).includes('from-cli.zip'));
    assert.ok(!localBackups().includes('from-cli.zip'));
    const verified = await cliAsync(['backup', 'verify', 'from-cli.zip', '--dir', srv.dir]);
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stdout, /intact and restorable/);
    const missing = await cliAsync(['backup', 'verify', 'nope.zip', '--dir', srv.dir]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no backup named "nope\.zip" in the S3 bucket/);
    const tmp = path.join(srv.dir, '.tmp');
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('restore') && n !== 'restore.lock'), [], 'the download is removed');
  });

  test('switched off: the folder again, the bucket left as it is', async () => {
    await su.settings.update({ backups: { s3: { enabled: false } } });
    assert.deepEqual(await keys(), ['local-only.zip']);
    assert.ok((await s3.keys()).includes('one.zip'));
  });
});
