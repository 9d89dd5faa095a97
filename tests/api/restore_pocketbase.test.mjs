// A PocketBase backup zip restored into a running basalt (issue 16: "A PocketBase backup zip
// restores into basalt, through the importer when it is PocketBase's schema"): the zip, laid out as
// PocketBase's backups (data.db of a real PocketBase 0.23 data directory from tests/fixtures, its
// auxiliary.db, a stored file), uploaded and restored with the official SDK; the server comes back
// on the imported data — PocketBase's collections with their ids, every record with its id and
// fields, its superusers, the stored file — as `basalt import pocketbase` of the unzipped folder
// would give.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import PocketBase from 'pocketbase';
import { cli, sqlite, startServer, waitHealthy } from './helpers.mjs';
import { makeZip } from './zip.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = path.join(here, '..', 'fixtures', 'pocketbase', 'todo-practice-023');
const SU = { email: 'pbzip@example.com', password: 'pbzip-password-1' };

function rows(db, query) {
  const r = spawnSync('sqlite3', ['-json', '-readonly', db, query], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}

describe('a PocketBase backup zip restored', () => {
  let srv;
  let work;
  let source; // a copy of the fixture's data.db, the source of truth for the comparison
  let todos; // PocketBase's `todos` collection row

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'basalt-pbzip-'));
    source = path.join(work, 'data.db');
    // A copy of the fixture (never opened in place: its -wal and -shm are committed) through
    // sqlite3's backup: one self-contained file, as PocketBase's backup holds.
    const copy = path.join(work, 'fixture');
    mkdirSync(copy);
    for (const f of readdirSync(FIXTURE_DIR)) copyFileSync(path.join(FIXTURE_DIR, f), path.join(copy, f));
    const r = spawnSync('sqlite3', [path.join(copy, 'data.db'), `.backup '${source}'`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    todos = rows(source, "SELECT id FROM _collections WHERE name = 'todos'")[0];
    srv = await startServer({ superuser: SU });
  });
  after(async () => {
    await srv?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('uploaded and restored with the SDK; the server comes back on the imported data', async () => {
    const su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.collections.create({ name: 'before', type: 'base', fields: [{ name: 'x', type: 'text' }] });
    const aux = path.join(work, 'auxiliary.db');
    sqlite(aux, 'CREATE TABLE _logs (id TEXT PRIMARY KEY, level INTEGER, message TEXT, data JSON, created TEXT)');
    const record = rows(source, 'SELECT id FROM todos ORDER BY id LIMIT 1')[0];
    const zip = makeZip([
      { name: 'data.db', data: readFileSync(source) },
      { name: 'auxiliary.db', data: readFileSync(aux) },
      { name: `storage/${todos.id}/${record.id}/note_abc123.txt`, data: Buffer.from('a file of PocketBase') },
    ]);
    await su.backups.upload({ file: new File([zip], 'pb_backup_todo_20240101000000.zip', { type: 'application/zip' }) });
    assert.equal(await su.backups.restore('pb_backup_todo_20240101000000.zip'), true);
    await waitHealthy(srv.url);
    assert.match(srv.stderr(), /Server restarted on the restored data/);

    // PocketBase's superusers came with the data: the old token and password are gone.
    assert.equal((await fetch(srv.url + '/api/collections', { headers: { Authorization: su.authStore.token } })).status, 401);
    const upsert = cli(['superuser', 'upsert', 'after@example.com', 'after-password-1', '--dir', srv.dir]);
    assert.equal(upsert.status, 0, upsert.stderr);
    const admin = new PocketBase(srv.url);
    await admin.collection('_superusers').authWithPassword('after@example.com', 'after-password-1');

    const names = (await admin.collections.getFullList()).filter((c) => !c.system).map((c) => c.name).sort();
    assert.deepEqual(names, ['todos', 'users'], 'the collections are PocketBase\'s ("before" is gone)');
    const got = await admin.collections.getOne('todos');
    assert.equal(got.id, todos.id, 'collection ids are kept');
    const want = rows(source, 'SELECT * FROM todos ORDER BY id');
    const have = await admin.collection('todos').getFullList({ sort: 'id' });
    assert.deepEqual(have.map((r) => r.id), want.map((r) => r.id));
    for (const f of got.fields.filter((f) => ['text', 'bool', 'number'].includes(f.type) && !f.hidden)) {
      for (let i = 0; i < want.length; i++) {
        const v = want[i][f.name];
        const expected = f.type === 'bool' ? v === 1 || v === 'true' : f.type === 'number' ? Number(v ?? 0) : v ?? '';
        assert.deepEqual(have[i][f.name], expected, `${want[i].id}.${f.name}`);
      }
    }
    const supers = rows(path.join(srv.dir, 'data.db'), 'SELECT email FROM _superusers ORDER BY email').map((r) => r.email);
    const pbSupers = rows(source, 'SELECT email FROM _superusers').map((r) => r.email);
    for (const e of pbSupers) assert.ok(supers.includes(e), `superuser ${e} was imported`);
    assert.equal(
      readFileSync(path.join(srv.dir, 'storage', todos.id, record.id, 'note_abc123.txt'), 'utf8'),
      'a file of PocketBase',
      'the stored file came along',
    );
    const tmp = path.join(srv.dir, '.tmp');
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('restore') && n !== 'restore.lock'), []);
  });
});
