// `basalt import pocketbase`: real PocketBase data directories (tests/fixtures/pocketbase, both
// schema eras) imported, served, and read back with the official SDK field by field against the
// source database (read with the sqlite3 CLI), views included, and their stored files byte for
// byte; sign-in with an imported bcrypt hash; the refusals.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import PocketBase from 'pocketbase';
import { cli, startServer, tempDir } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(here, '..', 'fixtures', 'pocketbase');
const SU = { email: 'importer@example.com', password: 'importer-pass-1' };

// bcrypt of "imported-pass-1" in Go's $2a$ encoding (cost 10), made with libxcrypt:
//   python3 -c "import crypt; print(crypt.crypt('imported-pass-1', '\$2a\$10\$abcdefghijklmnopqrstuv'))"
const OLD_PASSWORD = 'imported-pass-1';
const OLD_HASH = '$2a$10$abcdefghijklmnopqrstuuX/sm/HX.CJ5Jh5j7uyqiffnTl6O4vQS';

function sql(db, query) {
  const r = spawnSync('sqlite3', ['-json', '-readonly', db, query], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3 ${query}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}
const sqlWrite = (db, query) => {
  const r = spawnSync('sqlite3', [db, query], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3 ${query}: ${r.stderr}`);
};
const sha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const hasColumn = (db, table, col) => sql(db, `PRAGMA table_info("${table}")`).some((c) => c.name === col);

function copyFixture(name) {
  const dir = tempDir();
  fs.copyFileSync(path.join(FIXTURES, name, 'data.db'), path.join(dir, 'data.db'));
  return dir;
}

// The value the API gives for a source column value of field `f`.
function expected(f, v) {
  const multi = ['select', 'file', 'relation'].includes(f.type) && f.maxSelect > 1;
  if (multi) {
    if (v === null || v === '') return [];
    try {
      const a = JSON.parse(v);
      return Array.isArray(a) ? a : [v];
    } catch {
      return [v];
    }
  }
  switch (f.type) {
    case 'number':
      return v === null || v === '' ? 0 : Number(v);
    case 'bool':
      return v === 1 || v === '1' || v === 'true' || v === true;
    case 'geoPoint':
      return v === null || v === '' ? { lon: 0, lat: 0 } : JSON.parse(v);
    case 'json':
      if (v === null || v === '') return null;
      try {
        return JSON.parse(v);
      } catch {
        return v;
      }
    default:
      return v === null ? '' : String(v);
  }
}

const fixtures = fs.readdirSync(FIXTURES).filter((n) => fs.existsSync(path.join(FIXTURES, n, 'data.db')));

describe('import pocketbase: every fixture, record by record', () => {
  const servers = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });

  for (const name of fixtures) {
    test(name, async () => {
      const source = path.join(FIXTURES, name, 'data.db');
      const before = sha(source);
      const dir = tempDir();
      const r = cli(['import', 'pocketbase', path.join(FIXTURES, name), '--dir', dir]);
      assert.equal(r.status, 0, r.stderr);
      const sourceViews = sql(source, "SELECT count(*) AS n FROM _collections WHERE type = 'view'")[0].n;
      assert.match(r.stderr, new RegExp(`Imported \\d+ collections \\(${sourceViews} views\\)`));
      assert.equal(sha(source), before, 'the source is never written');

      const legacy = hasColumn(source, '_collections', 'schema');
      const srv = await startServer({ dir, superuser: SU });
      servers.push(srv);
      const pb = new PocketBase(srv.url);
      await pb.collection('_superusers').authWithPassword(SU.email, SU.password);

      const srcCollections = sql(source, 'SELECT id, name, type FROM _collections').filter(
        (c) => c.type !== 'view' && !c.name.startsWith('_'),
      );
      assert.ok(srcCollections.length > 0);
      let compared = 0;
      for (const c of srcCollections) {
        const def = await pb.collections.getOne(c.name);
        assert.equal(def.id, c.id, `${c.name} keeps its id`);
        const rows = sql(source, `SELECT * FROM "${c.name}" ORDER BY id`);
        const items = await pb.collection(c.name).getFullList({ sort: 'id', batch: 500 });
        assert.equal(items.length, rows.length, `${c.name}: record count`);
        const byId = new Map(items.map((i) => [i.id, i]));
        for (const row of rows) {
          const rec = byId.get(row.id);
          assert.ok(rec, `${c.name}/${row.id} is there`);
          for (const f of def.fields) {
            if (f.hidden || f.type === 'password') continue;
            if (!(f.name in row)) continue;
            assert.deepEqual(rec[f.name], expected(f, row[f.name]), `${c.name}/${row.id}.${f.name}`);
            compared++;
          }
        }
      }
      assert.ok(compared > 0, 'some values were compared');

      // Views have no table of their own: the records the SDK lists against the source's SQL view
      // (PocketBase keeps one per view collection), run by sqlite3.
      const srcViews = sql(source, "SELECT id, name FROM _collections WHERE type = 'view'");
      for (const v of srcViews) {
        const def = await pb.collections.getOne(v.name);
        assert.equal(def.id, v.id, `${v.name} keeps its id`);
        assert.equal(def.type, 'view');
        const rows = sql(source, `SELECT * FROM "${v.name}"`);
        const items = await pb.collection(v.name).getFullList({ batch: 500 });
        assert.equal(items.length, rows.length, `${v.name}: record count`);
        const byId = new Map(items.map((i) => [String(i.id), i]));
        for (const row of rows) {
          const rec = byId.get(String(row.id));
          assert.ok(rec, `${v.name}/${row.id} is there`);
          for (const f of def.fields) {
            if (f.hidden || f.type === 'password' || !(f.name in row)) continue;
            assert.deepEqual(rec[f.name], expected(f, row[f.name]), `${v.name}/${row.id}.${f.name}`);
          }
        }
      }

      // Stored files: every file of the source's storage/ copied byte for byte, and each file a
      // record names served by /api/files with the source's bytes.
      const storage = path.join(FIXTURES, name, 'storage');
      if (fs.existsSync(storage)) {
        const files = fs.readdirSync(storage, { recursive: true }).filter((f) => fs.statSync(path.join(storage, f)).isFile());
        for (const f of files) {
          const copy = path.join(dir, 'storage', f);
          assert.ok(fs.existsSync(copy), `storage/${f} copied`);
          assert.equal(sha(copy), sha(path.join(storage, f)), `storage/${f} unchanged`);
        }
        assert.match(r.stderr, new RegExp(`\\b${files.length} files\\b`));
        const token = await pb.files.getToken();
        let served = 0;
        for (const c of srcCollections) {
          const def = await pb.collections.getOne(c.name);
          const fileFields = def.fields.filter((f) => f.type === 'file');
          if (fileFields.length === 0) continue;
          for (const rec of await pb.collection(c.name).getFullList({ batch: 500 })) {
            for (const f of fileFields) {
              for (const filename of [rec[f.name]].flat().filter(Boolean)) {
                const res = await fetch(pb.files.getURL(rec, filename, { token }));
                assert.equal(res.status, 200, `${c.name}/${rec.id}/${filename}`);
                const body = Buffer.from(await res.arrayBuffer());
                assert.ok(body.equals(fs.readFileSync(path.join(storage, c.id, rec.id, filename))), `${c.name}/${rec.id}/${filename} bytes`);
                served++;
              }
            }
          }
        }
        assert.ok(served > 0, 'some files were served');
      }

      const admins = sql(source, `SELECT id, email FROM ${legacy ? '_admins' : '_superusers'}`);
      const supers = await pb.collection('_superusers').getFullList();
      for (const a of admins) {
        const s = supers.find((x) => x.id === a.id);
        assert.ok(s, `superuser ${a.email} imported`);
        assert.equal(s.email, a.email);
      }
    });
  }
});

describe('import pocketbase: passwords', () => {
  test('a pre-0.23 user signs in with the old bcrypt password, then it is argon2id', async () => {
    const src = copyFixture('todo-pocket-app-pre023');
    sqlWrite(path.join(src, 'data.db'), `UPDATE users SET passwordHash = '${OLD_HASH}' WHERE username = 'AliceDev'`);
    const dir = tempDir();
    const r = cli(['import', 'pocketbase', src, '--dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    const dest = path.join(dir, 'data.db');
    assert.equal(sql(dest, "SELECT password FROM users WHERE username = 'AliceDev'")[0].password, OLD_HASH);

    const srv = await startServer({ dir });
    try {
      const pb = new PocketBase(srv.url);
      await assert.rejects(pb.collection('users').authWithPassword('AliceDev', 'wrong-password-1'));
      const auth = await pb.collection('users').authWithPassword('AliceDev', OLD_PASSWORD);
      assert.equal(auth.record.username, 'AliceDev');
      assert.equal(auth.record.id, 'qpywjn8n4dgrqvx');
      const stored = sql(dest, "SELECT password FROM users WHERE username = 'AliceDev'")[0].password;
      assert.match(stored, /^\$argon2id\$/, 'upgraded at the first sign-in');
      // the token issued before the upgrade still works (tokenKey unchanged)
      const me = await pb.collection('users').authRefresh();
      assert.equal(me.record.id, 'qpywjn8n4dgrqvx');
      const again = await new PocketBase(srv.url).collection('users').authWithPassword('AliceDev', OLD_PASSWORD);
      assert.equal(again.record.id, 'qpywjn8n4dgrqvx');
      await assert.rejects(new PocketBase(srv.url).collection('users').authWithPassword('AliceDev', 'wrong-password-1'));
    } finally {
      await srv.stop();
    }
  });

  test('a 0.23+ superuser signs in with the old bcrypt password', async () => {
    const src = copyFixture('todo-practice-023');
    const email = sql(path.join(src, 'data.db'), 'SELECT email FROM _superusers LIMIT 1')[0].email;
    sqlWrite(path.join(src, 'data.db'), `UPDATE _superusers SET password = '${OLD_HASH}'`);
    const dir = tempDir();
    assert.equal(cli(['import', 'pocketbase', src, '--dir', dir]).status, 0);
    const srv = await startServer({ dir });
    try {
      const pb = new PocketBase(srv.url);
      const auth = await pb.collection('_superusers').authWithPassword(email, OLD_PASSWORD);
      assert.equal(auth.record.email, email);
      assert.ok((await pb.collections.getFullList()).some((c) => c.name === 'todos'));
    } finally {
      await srv.stop();
    }
  });
});

describe('import pocketbase: settings, external auth links, stored files', () => {
  test('a pre-0.23 directory with a link and a file', async () => {
    const src = copyFixture('todo-pocket-app-pre023');
    sqlWrite(
      path.join(src, 'data.db'),
      "INSERT INTO _externalAuths (id, collectionId, recordId, provider, providerId, created, updated) VALUES " +
        "('ea1234567890abc', '_pb_users_auth_', 'qpywjn8n4dgrqvx', 'github', 'gh-42', '2023-07-09 03:40:40.956Z', '2023-07-09 03:40:40.956Z')",
    );
    const fileDir = path.join(src, 'storage', '_pb_users_auth_', 'qpywjn8n4dgrqvx');
    fs.mkdirSync(fileDir, { recursive: true });
    fs.writeFileSync(path.join(fileDir, 'avatar_abc.png'), 'not really a png');
    const dir = tempDir();
    const r = cli(['import', 'pocketbase', src, '--dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /1 external auth links and 1 files/);
    assert.equal(
      fs.readFileSync(path.join(dir, 'storage', '_pb_users_auth_', 'qpywjn8n4dgrqvx', 'avatar_abc.png'), 'utf8'),
      'not really a png',
    );
    const srv = await startServer({ dir, superuser: SU });
    try {
      const pb = new PocketBase(srv.url);
      await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
      const settings = await pb.settings.getAll();
      assert.equal(settings.meta.appName, 'Simple To-Do');
      assert.equal(settings.meta.appURL, 'http://localhost:8090');
      const links = await pb.collection('_externalAuths').getFullList();
      assert.equal(links.length, 1);
      assert.equal(links[0].recordRef, 'qpywjn8n4dgrqvx');
      assert.equal(links[0].collectionRef, '_pb_users_auth_');
      assert.equal(links[0].provider, 'github');
      assert.equal(links[0].providerId, 'gh-42');
    } finally {
      await srv.stop();
    }
  });
});

describe('import pocketbase: refusals leave the destination unchanged', () => {
  const state = (dir) =>
    sql(path.join(dir, 'data.db'), "SELECT name FROM _collections WHERE system = 0 ORDER BY name").map((c) => c.name);

  test('a non-empty destination without --force', () => {
    const dir = tempDir();
    assert.equal(cli(['import', 'pocketbase', path.join(FIXTURES, 'todo-practice-023'), '--dir', dir]).status, 0);
    const collections = state(dir);
    const todos = sql(path.join(dir, 'data.db'), 'SELECT count(*) AS n FROM todos')[0].n;
    const r = cli(['import', 'pocketbase', path.join(FIXTURES, 'todo-pocket-app-pre023'), '--dir', dir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is not empty.*--force/);
    assert.deepEqual(state(dir), collections);
    assert.equal(sql(path.join(dir, 'data.db'), 'SELECT count(*) AS n FROM todos')[0].n, todos);

    const forced = cli(['import', 'pocketbase', path.join(FIXTURES, 'todo-pocket-app-pre023'), '--dir', dir, '--force']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.deepEqual(state(dir), ['tasks', 'users']);
    assert.equal(sql(path.join(dir, 'data.db'), 'SELECT count(*) AS n FROM tasks')[0].n, 12);
  });

  // The records' step fails after the collections were imported: two users with one email (the
  // source's own unique index dropped, the collection's index definition kept, so basalt's table has
  // it). All or nothing: the destination is as it was, a new one is not left behind.
  const duplicateEmails = () => {
    const src = copyFixture('todo-practice-023');
    const db = path.join(src, 'data.db');
    sqlWrite(db, 'DROP INDEX __pb_users_auth__email_idx');
    for (const [id, token] of [['dup000000000001', 'tk1'], ['dup000000000002', 'tk2']]) {
      sqlWrite(db, `INSERT INTO users (id, email, password, tokenKey, username) VALUES ('${id}', 'same@example.com', 'x', '${token}', '${id}')`);
    }
    return src;
  };

  test('a failure after the collections were imported leaves a new destination absent', () => {
    const src = duplicateEmails();
    const dir = path.join(tempDir(), 'dest');
    const r = cli(['import', 'pocketbase', src, '--dir', dir]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /copying the records failed.*Nothing was imported/s);
    assert.equal(fs.existsSync(dir), false, 'nothing written to the destination');
  });

  test('a failure after the collections were imported puts an existing destination back (--force)', () => {
    const dir = tempDir();
    assert.equal(cli(['import', 'pocketbase', path.join(FIXTURES, 'todo-pocket-app-pre023'), '--dir', dir]).status, 0);
    const db = path.join(dir, 'data.db');
    const before = state(dir);
    const tasks = sql(db, 'SELECT count(*) AS n FROM tasks')[0].n;
    // --force replaces conflicting rows, so the failure comes from the destination: a trigger refusing
    // the superusers the records' step writes after the new collections (todos) replaced tasks.
    sqlWrite(db, "CREATE TRIGGER refuse_import BEFORE INSERT ON _superusers BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    const r = cli(['import', 'pocketbase', path.join(FIXTURES, 'todo-practice-023'), '--dir', dir, '--force']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /copying the records failed.*refused by the test.*Nothing was imported/s);
    assert.deepEqual(state(dir), before, 'the collections are the ones from before (todos undone, tasks back)');
    assert.equal(sql(db, 'SELECT count(*) AS n FROM tasks')[0].n, tasks);
    assert.deepEqual(fs.readdirSync(path.join(dir, '.tmp')).filter((n) => n.startsWith('import')), []);
    // And it opens as before.
    sqlWrite(db, 'DROP TRIGGER refuse_import');
    assert.equal(cli(['superuser', 'upsert', 'x@example.com', 'x-password-1', '--dir', dir]).status, 0);
  });

  const refused = (setup, message) => () => {
    const src = tempDir();
    setup(src);
    const parent = tempDir();
    const dir = path.join(parent, 'dest');
    const r = cli(['import', 'pocketbase', src, '--dir', dir]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(fs.existsSync(dir), false, 'nothing written to the destination');
  };

  test(
    'a file named data.db that is not SQLite',
    refused((src) => fs.writeFileSync(path.join(src, 'data.db'), 'PK\x03\x04 this is not a database'), /not an SQLite database/),
  );
  test(
    'an SQLite database without _collections',
    refused((src) => sqlWrite(path.join(src, 'data.db'), 'CREATE TABLE notes (id TEXT PRIMARY KEY)'), /no _collections table/),
  );
  test(
    'a corrupted PocketBase database',
    refused((src) => {
      const bytes = fs.readFileSync(path.join(FIXTURES, 'todo-pocket-app-pre023', 'data.db'));
      bytes.fill(0xa5, 4096, 4096 * 12); // pages 2-12: b-tree pages overwritten
      fs.writeFileSync(path.join(src, 'data.db'), bytes);
    }, /corrupted|not a PocketBase database|cannot be opened/),
  );
  test(
    'a directory without data.db',
    refused(() => {}, /does not exist/),
  );
});
