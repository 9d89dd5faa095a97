import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, cli, getJson, startServer, tempDir } from './helpers.mjs';
import { spawnSync } from 'node:child_process';
import PocketBase from 'pocketbase';

test('--version and --help', () => {
  const v = cli(['--version']);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^basalt \d+\.\d+\.\d+/);
  const h = cli(['--help']);
  assert.equal(h.status, 0);
  for (const word of ['serve', 'superuser', '--dir']) assert.ok(h.stdout.includes(word), word);
  const sh = cli(['serve', '--help']);
  for (const word of ['--http', '--threads', '--dev', 'BASALT_HTTP']) assert.ok(sh.stdout.includes(word), word);
});

test('superuser upsert and delete', () => {
  const dir = tempDir();
  try {
    const bad = cli(['superuser', 'upsert', 'not-an-email', 'password123', '--dir', dir]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /email/i);
    const short = cli(['superuser', 'upsert', 'a@b.co', 'short', '--dir', dir]);
    assert.equal(short.status, 1);
    const ok = cli(['superuser', 'upsert', 'a@b.co', 'password123', '--dir', dir]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(existsSync(path.join(dir, 'data.db')));
    const del = cli(['superuser', 'delete', 'a@b.co', '--dir', dir]);
    assert.equal(del.status, 0);
    const again = cli(['superuser', 'delete', 'a@b.co', '--dir', dir]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve says where it listens, where data lives, and how to create the first superuser', async () => {
  const srv = await startServer();
  try {
    assert.match(srv.stderr(), /Server started at http:\/\/127\.0\.0\.1:\d+/);
    assert.ok(srv.stderr().includes(srv.dir));
    assert.match(srv.stderr(), /basalt superuser upsert EMAIL PASSWORD/);
  } finally {
    await srv.stop();
  }
});

test('flags come from BASALT_* environment variables too', async () => {
  const dir = tempDir();
  const srv = await startServer({ env: { BASALT_DIR: dir }, dir: tempDir() });
  // --dir on the command line wins over the environment.
  assert.ok(srv.stderr().includes(srv.dir));
  await srv.stop();
  const r = spawnSync(BIN, ['serve'], {
    env: { ...process.env, BASALT_HTTP: 'not-an-address', BASALT_DIR: dir },
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /HOST:PORT/);
  rmSync(dir, { recursive: true, force: true });
});

test('a taken port or a data dir in use fails fast with a clear message', async () => {
  const srv = await startServer();
  try {
    const port = cli(['serve', '--http', `127.0.0.1:${srv.port}`, '--dir', tempDir()]);
    assert.equal(port.status, 1);
    assert.match(port.stderr, /cannot listen on 127\.0\.0\.1:\d+/);
    const dir = cli(['serve', '--http', '127.0.0.1:0', '--dir', srv.dir]);
    assert.equal(dir.status, 1);
    assert.match(dir.stderr, /already using/);
    assert.equal((await getJson(srv.url + '/api/health')).status, 200);
  } finally {
    await srv.stop();
  }
});

test('files sweep removes stored files no record names, old enough, and prints them', async () => {
  const SU = { email: 'sweep@example.com', password: 'sweep-password-1' };
  const srv = await startServer({ superuser: SU });
  try {
    const pb = new PocketBase(srv.url);
    await pb.collection('_superusers').authWithPassword(SU.email, SU.password);
    const docs = await pb.collections.create({
      name: 'docs',
      listRule: '',
      viewRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'doc', type: 'file' },
      ],
    });
    const rec = await pb.collection('docs').create({ title: 'x', doc: new File(['kept body'], 'kept.txt') });
    const storage = path.join(srv.dir, 'storage', docs.id);
    // What a crash between a commit and its deletes leaves: a deleted record's folder, a dropped
    // file in a live record; and an upload of a write still in flight (young).
    const old = new Date(Date.now() - 2 * 3600 * 1000);
    const place = (rel, body, when = old) => {
      const file = path.join(storage, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, body);
      utimesSync(file, when, when);
    };
    place('gone12345678901/a_abcdefghij.txt', 'aaaa');
    place(`${rec.id}/dropped_abcdefghij.txt`, 'dd');
    place(`${rec.id}/staged_abcdefghij.txt`, 's', new Date());
    utimesSync(path.join(storage, rec.id, rec.doc), old, old); // named: stays however old

    const r = cli(['files', 'sweep', '--dir', srv.dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(`removed ${docs.id}/gone12345678901/a_abcdefghij.txt (4 bytes)`), r.stdout);
    assert.ok(r.stdout.includes(`removed ${docs.id}/${rec.id}/dropped_abcdefghij.txt (2 bytes)`), r.stdout);
    assert.match(r.stdout, /Removed 2 files \(6 bytes\), 1 record folders whole\./);
    assert.ok(!existsSync(path.join(storage, 'gone12345678901')));
    assert.ok(existsSync(path.join(storage, rec.id, 'staged_abcdefghij.txt')));
    const kept = await fetch(`${srv.url}/api/files/docs/${rec.id}/${rec.doc}`);
    assert.equal(kept.status, 200);
    assert.equal(await kept.text(), 'kept body');

    const now = cli(['files', 'sweep', '--dir', srv.dir, '--grace-minutes', '0']);
    assert.equal(now.status, 0, now.stderr);
    assert.match(now.stdout, /Removed 1 files \(1 bytes\)/);
    assert.ok(!existsSync(path.join(storage, rec.id, 'staged_abcdefghij.txt')));
    assert.ok(existsSync(path.join(storage, rec.id, rec.doc)));

    assert.notEqual(cli(['files', 'sweep', '--dir', srv.dir, '--grace-minutes', '-1']).status, 0);
    assert.notEqual(cli(['serve', '--dir', tempDir(), '--files-sweep-hours', '-1']).status, 0);
  } finally {
    await srv.stop();
  }
});

test('backup create and list', () => {
  const dir = tempDir();
  try {
    const none = cli(['backup', 'create', '--dir', dir]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /data\.db/);
    assert.equal(cli(['superuser', 'upsert', 'a@b.co', 'password123', '--dir', dir]).status, 0);
    const empty = cli(['backup', 'list', '--dir', dir]);
    assert.equal(empty.status, 0, empty.stderr);
    assert.equal(empty.stdout, '');
    const named = cli(['backup', 'create', 'nightly_1.zip', '--dir', dir]);
    assert.equal(named.status, 0, named.stderr);
    assert.match(named.stdout, /nightly_1\.zip/);
    const generated = cli(['backup', 'create', '--dir', dir]);
    assert.equal(generated.status, 0, generated.stderr);
    assert.match(generated.stdout, /pb_backup_\d{14}\.zip/);
    const dup = cli(['backup', 'create', 'nightly_1.zip', '--dir', dir]);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /exists/);
    const bad = cli(['backup', 'create', '../escape.zip', '--dir', dir]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /invalid backup name/);
    const list = cli(['backup', 'list', '--dir', dir]);
    assert.equal(list.status, 0);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    const [key, size, modified] = lines.find((l) => l.startsWith('nightly_1.zip')).split('\t');
    assert.equal(key, 'nightly_1.zip');
    assert.ok(Number(size) > 100);
    assert.match(modified, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const entries = spawnSync('unzip', ['-Z1', path.join(dir, 'backups', 'nightly_1.zip')], { encoding: 'utf8' });
    assert.ok(entries.stdout.split('\n').includes('data.db'), entries.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
