// Schema migrations (docs/migrations.md): automigrate with --dev writes a file per schema change, a
// fresh data directory given that folder reaches the same schema at start, `migrate down` reverts,
// `migrate collections` snapshots, and a bad file (invalid JSON, an id clash, a rule that does not
// compile, bad SQL) is refused naming the file, with nothing changed, and stops `serve` at start.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { cli, startServer, tempDir } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

// The definitions as a comparable value: no timestamps, no per-directory secrets, sorted by name.
function normalize(list) {
  const strip = (v) => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const o = {};
      for (const [k, x] of Object.entries(v)) {
        if (k !== 'created' && k !== 'updated' && k !== 'secret') o[k] = strip(x);
      }
      return o;
    }
    return v;
  };
  return strip(list).sort((a, b) => a.name.localeCompare(b.name));
}

async function schemaOf(dir, args = []) {
  const srv = await startServer({ dir, args, superuser: SU });
  try {
    const pb = new PocketBase(srv.url);
    await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
    return normalize(await pb.collections.getFullList());
  } finally {
    srv.proc.kill('SIGTERM');
    await srv.exited;
  }
}

const migrationFiles = (dir) => readdirSync(dir).filter((f) => /^\d+_.*\.json$/.test(f)).sort();

describe('migrations', () => {
  const roots = [];
  const root = () => {
    const r = tempDir();
    roots.push(r);
    return r;
  };
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  test('automigrate writes a file per change; a fresh directory reaches the same schema; down reverts', async (t) => {
    const r = root();
    const data = path.join(r, 'data');
    const migrations = path.join(r, 'migrations'); // the default: beside the data directory
    const srv = await startServer({ dir: data, args: ['--dev'], superuser: SU });
    t.after(() => srv.proc.kill('SIGKILL'));
    const pb = new PocketBase(srv.url);
    await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
    const authors = await pb.collections.create({ name: 'authors', listRule: '', fields: [{ name: 'name', type: 'text' }] });
    const books = await pb.collections.create({
      name: 'books',
      fields: [
        { name: 'title', type: 'text', required: true },
        { name: 'pages', type: 'number' },
        { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
      ],
      indexes: ['CREATE INDEX idx_books_title ON books (title)'],
    });
    await pb.collection('books').create({ title: 'Dune', pages: 412 });
    // An update that renames a field, drops one and adds one, and changes a rule.
    const fields = books.fields.filter((f) => f.name !== 'pages').map((f) => (f.name === 'title' ? { ...f, name: 'heading' } : f));
    await pb.collections.update(books.id, {
      listRule: '@request.auth.id != ""',
      fields: [...fields, { name: 'isbn', type: 'text' }],
      indexes: ['CREATE INDEX idx_books_heading ON books (heading)'],
    });
    await pb.collections.create({ name: 'scratch', fields: [{ name: 'x', type: 'text' }] });
    await pb.collections.delete('scratch');
    await pb.collections.import([{ name: 'tags', fields: [{ name: 'label', type: 'text' }] }], false);
    const expected = normalize(await pb.collections.getFullList());

    const files = migrationFiles(migrations);
    assert.deepEqual(
      files.map((f) => f.replace(/^\d+_/, '')),
      [
        'created_authors.json',
        'created_books.json',
        'updated_books.json',
        'created_scratch.json',
        'deleted_scratch.json',
        'created_tags.json',
      ],
    );
    const updated = JSON.parse(readFileSync(path.join(migrations, files[2]), 'utf8'));
    assert.equal(updated.up[0].update.id, books.id);
    assert.ok(updated.up[0].update.fields.some((f) => f.name === 'heading'));
    assert.ok(updated.down[0].update.fields.some((f) => f.name === 'pages'));
    assert.equal(updated.up[0].update.created, undefined);
    const created = JSON.parse(readFileSync(path.join(migrations, files[0]), 'utf8'));
    assert.deepEqual(created.down, [{ delete: authors.id }]);

    const history = cli(['migrate', 'history', '--dir', data]);
    assert.equal(history.status, 0, history.stderr);
    assert.equal(history.stdout.trim().split('\n').filter((l) => l.startsWith('applied')).length, 6, history.stdout);
    srv.proc.kill('SIGTERM');
    await srv.exited;

    // A restart does not apply them again, and writes nothing new.
    assert.deepEqual(await schemaOf(data), expected);
    assert.equal(migrationFiles(migrations).length, 6);

    // A fresh directory given the folder reaches the same schema at start.
    const fresh = path.join(r, 'fresh');
    assert.deepEqual(await schemaOf(fresh, ['--migrations-dir', migrations]), expected);
    const books2 = (await schemaOf(fresh, ['--migrations-dir', migrations])).find((c) => c.name === 'books');
    assert.deepEqual(books2.fields.map((f) => f.name), ['id', 'heading', 'author', 'isbn']);

    // down reverts the last applied (the import of tags), then the other five, most recent first.
    const migrate = (...args) => cli(['migrate', ...args, '--dir', fresh, '--migrations-dir', migrations]);
    let down = migrate('down');
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, /^Reverted \d+_created_tags\.json$/m);
    assert.match(migrate('history').stdout, /^pending +\d+_created_tags\.json$/m);
    down = migrate('down', '5');
    assert.equal(down.status, 0, down.stderr);
    assert.deepEqual(
      down.stdout.trim().split('\n').map((l) => l.replace(/\d+_/, '')),
      ['Reverted deleted_scratch.json', 'Reverted created_scratch.json', 'Reverted updated_books.json', 'Reverted created_books.json', 'Reverted created_authors.json'],
    );
    assert.equal(migrate('history').stdout.trim().split('\n').filter((l) => l.startsWith('pending')).length, 6);
    assert.match(migrate('down').stdout, /No migrations to revert/);
    const empty = path.join(r, 'empty');
    mkdirSync(empty);
    const names = (await schemaOf(fresh, ['--migrations-dir', empty])).map((c) => c.name);
    for (const gone of ['authors', 'books', 'scratch', 'tags']) assert.ok(!names.includes(gone), names.join());

    // The snapshot of the dev directory, applied alone to another fresh directory.
    const snapDir = path.join(r, 'snapshots');
    const snap = cli(['migrate', 'collections', '--dir', data, '--migrations-dir', snapDir]);
    assert.equal(snap.status, 0, snap.stderr);
    assert.match(snap.stdout, /Created .*_collections_snapshot\.json/);
    assert.match(cli(['migrate', 'history', '--dir', data, '--migrations-dir', snapDir]).stdout, /^applied .*_collections_snapshot\.json/m);
    assert.deepEqual(await schemaOf(path.join(r, 'fresh2'), ['--migrations-dir', snapDir]), expected);
  });

  test('without --dev nothing is written', async (t) => {
    const r = root();
    const migrations = path.join(r, 'm');
    const srv = await startServer({ dir: path.join(r, 'data'), args: ['--migrations-dir', migrations], superuser: SU });
    t.after(() => srv.proc.kill('SIGKILL'));
    const pb = new PocketBase(srv.url);
    await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
    await pb.collections.create({ name: 'quiet', fields: [{ name: 'x', type: 'text' }] });
    srv.proc.kill('SIGTERM');
    await srv.exited;
    assert.deepEqual(readdirSync(r).includes('m') ? migrationFiles(migrations) : [], []);
  });

  test('create writes a template; bad files are refused naming the file, nothing changed', async () => {
    const r = root();
    const data = path.join(r, 'data');
    const migrations = path.join(r, 'migrations');
    const run = (...args) => cli(['migrate', ...args, '--dir', data, '--migrations-dir', migrations]);
    const made = run('create', 'add notes');
    assert.equal(made.status, 0, made.stderr);
    const [template] = migrationFiles(migrations);
    assert.match(template, /^\d+_add_notes\.json$/);
    assert.deepEqual(JSON.parse(readFileSync(path.join(migrations, template), 'utf8')), { up: [], down: [] });
    writeFileSync(
      path.join(migrations, template),
      JSON.stringify({
        up: [
          { create: { id: 'pbc_notes00001', name: 'notes', fields: [{ name: 'body', type: 'text' }] } },
          { sql: "INSERT INTO notes (id, body) VALUES ('aaaaaaaaaaaaaaa', 'first')" },
        ],
        down: [{ delete: 'notes' }],
      }),
    );
    const bad = (name, content) => {
      const file = `1999999999_${name}.json`;
      writeFileSync(path.join(migrations, file), content);
      const res = run('up');
      rmSync(path.join(migrations, file));
      return { file, res };
    };
    const cases = [
      ['invalid_json', '{"up": [ {"create": ', /invalid JSON at line 1/],
      ['id_clash', JSON.stringify({ up: [{ create: { id: 'pbc_notes00001', name: 'other' } }] }), /id: Value must be unique/],
      ['bad_rule', JSON.stringify({ up: [{ create: { name: 'ruled', listRule: 'nope = 1' } }] }), /listRule/],
      [
        'bad_sql',
        JSON.stringify({ up: [{ create: { name: 'later' } }, { sql: 'UPDATE no_such_table SET x = 1' }] }),
        /up\[1\] \(sql\).*no such table/,
      ],
      ['unknown_step', JSON.stringify({ up: [{ drop: 'notes' }] }), /up\[0\]: unknown step "drop"/],
    ];
    let first = true;
    for (const [name, content, why] of cases) {
      const { file, res } = bad(name, content);
      assert.equal(res.status, 1, name);
      assert.ok(res.stderr.includes(file), `${name}: ${res.stderr}`);
      assert.match(res.stderr, why, name);
      // The valid template before it was applied by the first run, and stays so; the bad one is not.
      if (first) assert.match(res.stdout, /Applied \d+_add_notes\.json/);
      first = false;
      const hist = run('history').stdout;
      assert.equal(hist.trim().split('\n').length, 1, hist);
      assert.match(hist, /^applied .*_add_notes\.json/);
    }

    // serve refuses to start on a bad pending file, naming it (exit code 1).
    writeFileSync(path.join(migrations, '1999999999_broken.json'), '{"up": [{"sql": "SELEC 1"}]}');
    await assert.rejects(
      startServer({ dir: data, args: ['--migrations-dir', migrations] }),
      (e) => /exited with 1/.test(e.message) && /1999999999_broken\.json/.test(e.message),
    );
    rmSync(path.join(migrations, '1999999999_broken.json'));

    // Nothing of the refused ones is there; the applied one is, with its row.
    const srv = await startServer({ dir: data, args: ['--migrations-dir', migrations], superuser: SU });
    try {
      const pb = new PocketBase(srv.url);
      await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
      const names = (await pb.collections.getFullList()).map((c) => c.name);
      for (const absent of ['other', 'ruled', 'later']) assert.ok(!names.includes(absent), absent);
      const notes = await pb.collection('notes').getFullList();
      assert.deepEqual(notes.map((n) => n.body), ['first']);
    } finally {
      srv.proc.kill('SIGTERM');
      await srv.exited;
    }
  });
});
