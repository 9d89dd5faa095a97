import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BIN, cli, getJson, startServer, tempDir } from './helpers.mjs';
import { spawnSync } from 'node:child_process';

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
