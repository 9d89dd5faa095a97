// Backups (PocketBase's apis/backup*.go) through the official SDK's pb.backups: list, create (named
// and generated names), validation, download with a superuser file token, upload, delete, one backup
// at a time, and an archive taken while writes go on is a consistent database.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { cli, failure, sqlite, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const PASS = 'secret-pass-1';

// Unzips `bytes` into a fresh folder and answers it (with `unzip`, Debian's).
function extract(bytes) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'basalt-backup-'));
  writeFileSync(path.join(dir, 'archive.zip'), bytes);
  const r = spawnSync('unzip', ['-q', 'archive.zip', '-d', 'out'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { dir, out: path.join(dir, 'out') };
}


describe('backups', () => {
  let srv;
  let su;
  let guest;
  let user;
  let note;

  const download = async (key) => {
    const token = await su.files.getToken();
    const res = await fetch(su.backups.getDownloadURL(token, key));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    assert.match(res.headers.get('content-disposition'), new RegExp(`attachment; filename=${key}`));
    return Buffer.from(await res.arrayBuffer());
  };

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    su.autoCancellation(false);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({ name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }] });
    note = await su.collection('notes').create({ title: 'before the backup' });
    await su.collection('users').create({ email: 'u@example.com', password: PASS, passwordConfirm: PASS });
    user = new PocketBase(srv.url);
    await user.collection('users').authWithPassword('u@example.com', PASS);
    guest = new PocketBase(srv.url);
    // A stored file of a file field, as local storage keeps it.
    mkdirSync(path.join(srv.dir, 'storage', 'c1', 'r1'), { recursive: true });
    writeFileSync(path.join(srv.dir, 'storage', 'c1', 'r1', 'hello.txt'), 'hello');
  });
  after(async () => {
    await srv?.stop();
  });

  test('guests get 401, users 403', async () => {
    assert.equal((await failure(guest.backups.getFullList())).status, 401);
    assert.equal((await failure(user.backups.getFullList())).status, 403);
    assert.equal((await failure(guest.backups.create('a.zip'))).status, 401);
    assert.equal((await failure(user.backups.create('a.zip'))).status, 403);
    assert.equal((await failure(user.backups.delete('a.zip'))).status, 403);
    const up = await failure(user.backups.upload({ file: new File([Buffer.from('PK\x05\x06')], 'u.zip') }));
    assert.equal(up.status, 403);
    assert.deepEqual(await su.backups.getFullList(), []);
  });

  test('create with a name and without; list shows key, size and modified', async () => {
    assert.equal(await su.backups.create('first_backup.zip'), true);
    assert.equal(await su.backups.create(''), true);
    const list = await su.backups.getFullList();
    assert.equal(list.length, 2);
    const first = list.find((b) => b.key === 'first_backup.zip');
    assert.ok(first);
    assert.ok(first.size > 100);
    assert.match(first.modified, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const generated = list.find((b) => b.key !== 'first_backup.zip');
    assert.match(generated.key, /^pb_backup_acme_\d{14}\.zip$|^pb_backup_[a-z0-9_]+_\d{14}\.zip$/);
    assert.ok(existsSync(path.join(srv.dir, 'backups', 'first_backup.zip')));
    // No temp files left beside them.
    assert.deepEqual(readdirSync(path.join(srv.dir, 'backups')).filter((n) => n.startsWith('.basalt')), []);
  });

  test('invalid and duplicate names: 400 with the field error', async () => {
    const bad = await failure(su.backups.create('!test.zip'));
    assert.equal(bad.status, 400);
    assert.equal(bad.data.data.name.code, 'validation_match_invalid');
    const upper = await failure(su.backups.create('Test.zip'));
    assert.equal(upper.data.data.name.code, 'validation_match_invalid');
    const traversal = await failure(su.backups.create('../x.zip'));
    assert.equal(traversal.data.data.name.code, 'validation_match_invalid');
    const long = await failure(su.backups.create('a'.repeat(147) + '.zip'));
    assert.equal(long.data.data.name.code, 'validation_length_out_of_range');
    const dup = await failure(su.backups.create('first_backup.zip'));
    assert.equal(dup.status, 400);
    assert.equal(dup.data.data.name.code, 'validation_backup_name_exists');
  });

  test('download with a file token: a zip with data.db, auxiliary.db and storage/', async () => {
    const bytes = await download('first_backup.zip');
    const { dir, out } = extract(bytes);
    try {
      const list = spawnSync('unzip', ['-Z1', path.join(dir, 'archive.zip')], { encoding: 'utf8' }).stdout;
      const names = list.trim().split('\n');
      assert.ok(names.includes('data.db'), list);
      assert.ok(names.includes('auxiliary.db'), list);
      assert.ok(names.includes('storage/c1/r1/hello.txt'), list);
      const db = path.join(out, 'data.db');
      assert.equal(sqlite(db, `SELECT title FROM notes WHERE id = '${note.id}'`), 'before the backup');
      assert.equal(sqlite(db, 'PRAGMA integrity_check'), 'ok');
      assert.equal(sqlite(db, 'PRAGMA journal_mode'), 'delete');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('download without a token, with a bad one or a user token: 403; unknown key 404', async () => {
    const base = `${srv.url}/api/backups/first_backup.zip`;
    assert.equal((await fetch(base)).status, 403);
    assert.equal((await fetch(`${base}?token=`)).status, 403);
    assert.equal((await fetch(`${base}?token=nonsense`)).status, 403);
    // A superuser's auth token is not a file token.
    assert.equal((await fetch(`${base}?token=${su.authStore.token}`)).status, 403);
    const userToken = await user.files.getToken();
    assert.equal((await fetch(`${base}?token=${userToken}`)).status, 403);
    const token = await su.files.getToken();
    assert.equal((await fetch(`${srv.url}/api/backups/missing.zip?token=${token}`)).status, 404);
    assert.equal((await fetch(`${srv.url}/api/backups/missing?token=${token}`)).status, 404);
    assert.equal((await fetch(`${srv.url}/api/backups/..%2Fdata.db?token=${token}`)).status, 404);
  });

  test('upload a zip, refuse a non-zip, a missing file and an existing name', async () => {
    const zip = await download('first_backup.zip');
    assert.equal(await su.backups.upload({ file: new File([zip], 'uploaded.zip') }), true);
    const list = await su.backups.getFullList();
    assert.equal(list.find((b) => b.key === 'uploaded.zip').size, zip.length);
    assert.deepEqual(await download('uploaded.zip'), zip);

    const text = await failure(su.backups.upload({ file: new File(['not a zip'], 'text.zip') }));
    assert.equal(text.status, 400);
    assert.equal(text.data.data.file.code, 'validation_invalid_mime_type');
    const missing = await failure(su.send('/api/backups/upload', { method: 'POST', body: new FormData() }));
    assert.equal(missing.status, 400);
    assert.equal(missing.data.data.file.code, 'validation_required');
    const dup = await failure(su.backups.upload({ file: new File([zip], 'uploaded.zip') }));
    assert.equal(dup.status, 400);
    assert.equal(dup.data.data.file.code, 'validation_backup_name_exists');
    const badName = await failure(su.backups.upload({ file: new File([zip], '../evil.zip') }));
    assert.equal(badName.status, 400);
    assert.ok(!existsSync(path.join(srv.dir, 'evil.zip')));
  });

  test('delete: 204, then 400 as PocketBase for a missing one', async () => {
    assert.equal(await su.backups.delete('uploaded.zip'), true);
    assert.ok(!(await su.backups.getFullList()).some((b) => b.key === 'uploaded.zip'));
    const again = await failure(su.backups.delete('uploaded.zip'));
    assert.equal(again.status, 400);
    assert.equal((await failure(su.backups.delete('Not-Valid.zip'))).status, 400);
  });

  test('a backup taken while creates run: every create succeeds, the archive is consistent', async () => {
    let stop = false;
    let created = 0;
    const writers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        await su.collection('notes').create({ title: 'during' });
        created += 1;
      }
    });
    await new Promise((r) => setTimeout(r, 100));
    await su.backups.create('during_writes.zip');
    stop = true;
    await Promise.all(writers);
    assert.ok(created > 0);
    const { dir, out } = extract(await download('during_writes.zip'));
    try {
      const db = path.join(out, 'data.db');
      assert.equal(sqlite(db, 'PRAGMA integrity_check'), 'ok');
      const inBackup = Number(sqlite(db, "SELECT count(*) FROM notes WHERE title = 'during'"));
      assert.ok(inBackup <= created);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('one backup at a time: a second create and a delete of the running one get 400', async () => {
    // A large stored file makes the backup last long enough to overlap.
    mkdirSync(path.join(srv.dir, 'storage', 'c1', 'r2'), { recursive: true });
    writeFileSync(path.join(srv.dir, 'storage', 'c1', 'r2', 'big.bin'), randomBytes(48 * 1024 * 1024));
    const first = su.backups.create('slow_one.zip');
    await new Promise((r) => setTimeout(r, 50));
    const second = await failure(su.backups.create('second.zip'));
    assert.equal(second.status, 400);
    assert.match(second.data.message, /another backup\/restore process has already been started/);
    const del = await failure(su.backups.delete('slow_one.zip'));
    assert.equal(del.status, 400);
    assert.match(del.data.message, /currently being used/);
    assert.equal(await first, true);
    assert.ok((await su.backups.getFullList()).some((b) => b.key === 'slow_one.zip'));
    assert.ok(!(await su.backups.getFullList()).some((b) => b.key === 'second.zip'));
    // The CLI beside the running server: the same data directory, its own backup.
    const made = cli(['backup', 'create', 'from_cli.zip', '--dir', srv.dir]);
    assert.equal(made.status, 0, made.stderr);
    assert.ok((await su.backups.getFullList()).some((b) => b.key === 'from_cli.zip'));
  });
});
