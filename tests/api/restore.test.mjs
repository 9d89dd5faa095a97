// Restore (PocketBase's POST /api/backups/{key}/restore, the SDK's pb.backups.restore) and
// `basalt backup restore|verify`: the archive is checked before anything is touched, the server
// comes back by itself on the restored data at the same address, SDK realtime clients reconnect,
// and every bad archive is refused with its reason while the server goes on as it was.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { EventSource } from 'eventsource';
import { cli, failure, sleep, sqlite, startServer, tempDir, waitHealthy } from './helpers.mjs';
import { makeZip } from './zip.mjs';

globalThis.EventSource = EventSource;

const SU = { email: 'root@example.com', password: 'root-password-1' };

describe('restore', () => {
  let srv;
  let su;
  let work;
  let snapshot; // the backup's bytes
  let dbBytes; // its data.db
  let first; // the record in the backup

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'basalt-restore-'));
    srv = await startServer({ superuser: SU });
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
    form.append('title', 'in the backup');
    form.append('doc', new Blob(['the file of the first note']), 'first.txt');
    first = await su.collection('notes').create(form);
    await su.settings.update({ meta: { appName: 'Before' } });
    await su.backups.create('snap.zip');
    const token = await su.files.getToken();
    snapshot = Buffer.from(await (await fetch(su.backups.getDownloadURL(token, 'snap.zip'))).arrayBuffer());
    writeFileSync(path.join(work, 'snap.zip'), snapshot);
    const r = spawnSync('unzip', ['-q', 'snap.zip', 'data.db', '-d', 'snap'], { cwd: work, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    dbBytes = readFileSync(path.join(work, 'snap', 'data.db'));
  });

  after(async () => {
    await srv?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('guests, users and unknown backups are refused', async () => {
    const guest = await fetch(`${srv.url}/api/backups/snap.zip/restore`, { method: 'POST' });
    assert.equal(guest.status, 401);
    const missing = await failure(su.backups.restore('missing.zip'));
    assert.equal(missing.status, 400);
    assert.equal(missing.data.message, 'Missing or invalid backup file.');
    const invalid = await failure(su.backups.restore('..%2Fdata.db'));
    assert.equal(invalid.status, 400);
  });

  test('bad archives are refused with their reason; nothing changes and the server goes on', async () => {
    const titles = async () => (await su.collection('notes').getFullList({ sort: 'title' })).map((r) => r.title);
    const before = await titles();
    const corrupt = Buffer.from(dbBytes);
    corrupt.fill(0x5a, 4096, Math.min(corrupt.length, 4096 * 3));
    const newer = path.join(work, 'newer.db');
    writeFileSync(newer, dbBytes);
    sqlite(newer, "INSERT INTO _migrations (version, name, applied) VALUES (9999, 'from the future', 0)");
    const pocketbase = path.join(work, 'pb.db');
    sqlite(pocketbase, 'CREATE TABLE _migrations (file TEXT PRIMARY KEY, applied INTEGER); CREATE TABLE _collections (id TEXT)');
    const db = (data) => ({ name: 'data.db', data });
    const cases = [
      ['climbs', makeZip([db(dbBytes), { name: '../evil.txt', data: Buffer.from('x') }]), /unsafe name/],
      ['absolute', makeZip([db(dbBytes), { name: '/tmp/evil.txt', data: Buffer.from('x') }]), /unsafe name/],
      ['symlink', makeZip([db(dbBytes), { name: 'storage/link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]), /symlink/],
      ['forged', makeZip([{ name: 'data.db', data: Buffer.alloc(4096), declaredSize: 4_000_000_000 }]), /more than deflate can inflate/],
      ['lying', makeZip([{ name: 'data.db', data: Buffer.alloc(1 << 20), declaredSize: 1000 }]), /beyond its declared size|damaged/],
      ['twice', makeZip([db(dbBytes), db(dbBytes)]), /appears twice|not a complete zip/],
      ['truncated', snapshot.subarray(0, Math.floor(snapshot.length / 2)), /not a complete zip/],
      ['not_sqlite', makeZip([db(Buffer.from('this is not a database'))]), /data\.db: not an SQLite database/],
      ['corrupt', makeZip([db(corrupt)]), /data\.db: damaged/],
      ['newer', makeZip([db(readFileSync(newer))]), /newer basalt \(schema version 9999/],
      ['pocketbase', makeZip([db(readFileSync(pocketbase))]), /PocketBase backup could not be imported: .*neither/],
      ['no_db', makeZip([{ name: 'storage/a/b/c.txt', data: Buffer.from('x') }]), /no data\.db/],
    ];
    for (const [name, bytes, reason] of cases) {
      await su.backups.upload({ file: new File([bytes], `${name}.zip`, { type: 'application/zip' }) });
      const r = await failure(su.backups.restore(`${name}.zip`));
      assert.equal(r.status, 400, name);
      assert.match(r.data.message, /^The backup cannot be restored: /, name);
      assert.match(r.data.message, reason, `${name}: ${r.data.message}`);
      assert.deepEqual(await titles(), before, name);
    }
    assert.ok(!existsSync(path.join(path.dirname(srv.dir), 'evil.txt')));
    assert.ok(!existsSync('/tmp/evil.txt'));
    assert.equal(srv.proc.exitCode, null);
    // Nothing is left of the checks.
    const tmp = path.join(srv.dir, '.tmp');
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('restore')) : [], []);
  });

  test('the CLI verifies a backup beside the running server and refuses to restore under it', () => {
    const ok = cli(['backup', 'verify', 'snap.zip', '--dir', srv.dir]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /snap\.zip: data\.db \(schema version \d+\), \d+ files/);
    assert.match(ok.stdout, /intact and restorable/);
    const bad = cli(['backup', 'verify', 'forged.zip', '--dir', srv.dir]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /cannot be restored: .*more than deflate can inflate/);
    const busy = cli(['backup', 'restore', 'snap.zip', '--dir', srv.dir]);
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, /is running on .*restore through its API/);
  });

  test('a restore brings the data back and the server restarts by itself at the same address', async () => {
    const listener = new PocketBase(srv.url);
    const events = [];
    await listener.collection('notes').subscribe('*', (e) => events.push(e));
    let connects = 0; // PB_CONNECT after this subscription: the reconnections
    await listener.realtime.subscribe('PB_CONNECT', () => connects++);
    await su.collection('notes').create({ title: 'after the backup' });
    await su.collection('notes').delete(first.id);
    await su.settings.update({ meta: { appName: 'After' } });
    const pid = srv.proc.pid;

    assert.equal(await su.backups.restore('snap.zip'), true);
    await waitHealthy(srv.url);
    assert.equal(srv.proc.exitCode, null);
    assert.equal(srv.proc.pid, pid);
    assert.match(srv.stderr(), new RegExp(`Server restarted on the restored data at ${srv.url}`));

    const notes = await su.collection('notes').getFullList();
    assert.deepEqual(notes.map((n) => [n.id, n.title]), [[first.id, 'in the backup']]);
    const file = await fetch(su.files.getURL(notes[0], notes[0].doc));
    assert.equal(file.status, 200);
    assert.equal(await file.text(), 'the file of the first note');
    assert.equal((await su.settings.getAll()).meta.appName, 'Before');
    assert.ok((await su.backups.getFullList()).some((b) => b.key === 'snap.zip'));

    // The SDK's realtime client reconnects by itself (its backoff) and gets events of the restored server.
    for (let i = 0; i < 200 && connects < 1; i++) await sleep(50);
    assert.ok(connects >= 1, 'the realtime client did not reconnect');
    const made = await su.collection('notes').create({ title: 'after the restore' });
    for (let i = 0; i < 200 && !events.some((e) => e.record.id === made.id); i++) await sleep(50);
    assert.ok(events.some((e) => e.action === 'create' && e.record.id === made.id), 'no event after the restart');
    listener.realtime.unsubscribe();

    // The old data is gone once the restored data opened.
    const tmp = path.join(srv.dir, '.tmp');
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('restore') && n !== 'restore.lock'), []);
  });

  test('`basalt backup restore` fills a new data directory from a zip', async () => {
    const dir = tempDir();
    rmSync(dir, { recursive: true, force: true });
    const r = cli(['backup', 'restore', path.join(work, 'snap.zip'), '--dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Successfully restored "snap\.zip"/);
    const restored = await startServer({ dir });
    try {
      const pb = new PocketBase(restored.url);
      await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
      const notes = await pb.collection('notes').getFullList();
      assert.deepEqual(notes.map((n) => n.id), [first.id]);
    } finally {
      await restored.stop();
    }
  });
});
