// Point-in-time recovery: `serve --replicate DIR` ships every commit; `basalt restore --from DIR
// [--to TIME]` rebuilds the database. The server is killed with SIGKILL under a write load and every
// write acknowledged more than a second before the kill must be in the restore; a restore to a
// moment has exactly the writes committed before it; a restart starts a new generation.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { cli, sleep, sqlite, startServer } from './helpers.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

const work = mkdtempSync(path.join(os.tmpdir(), 'basalt-replica-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function serverWithPosts(replica, dir) {
  const srv = await startServer({ superuser: SU, args: ['--replicate', replica], dir });
  const su = new PocketBase(srv.url);
  await su.collection('_superusers').authWithPassword(SU.email, SU.password);
  if (!(await su.collections.getFullList()).some((c) => c.name === 'posts')) {
    await su.collections.create({
      name: 'posts',
      type: 'base',
      createRule: '',
      listRule: '',
      viewRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'n', type: 'number' },
      ],
    });
  }
  return { srv, su };
}

async function create(url, title, n) {
  const res = await fetch(url + '/api/collections/posts/records', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title, n }),
  });
  if (res.status !== 200) throw new Error(`create answered ${res.status}`);
  return (await res.json()).id;
}

function restore(args) {
  return cli(['restore', ...args]);
}

function ids(dir) {
  const out = sqlite(path.join(dir, 'data.db'), 'SELECT id FROM posts');
  return new Set(out ? out.split('\n') : []);
}

describe('point-in-time recovery', () => {
  test('every write acknowledged more than 1 s before a SIGKILL is in the restore', async () => {
    const replica = path.join(work, 'kill-replica');
    const { srv } = await serverWithPosts(replica, path.join(work, 'kill-data'));
    const acked = []; // [id, time acknowledged]
    let running = true;
    let failures = 0;
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; running; i++) {
        try {
          const id = await create(srv.url, `w${w}-${i}`, i);
          acked.push([id, Date.now()]);
        } catch {
          failures++; // the kill cuts requests in flight
          if (!running) return;
        }
      }
    });
    await sleep(3000);
    srv.proc.kill('SIGKILL');
    const killedAt = Date.now();
    running = false;
    await Promise.all(writers);
    await srv.exited;

    const out = path.join(work, 'kill-restored');
    const r = restore(['--from', replica, '--dir', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Restored .* transactions/);
    const restored = ids(out);
    const due = acked.filter(([, t]) => t < killedAt - 1000);
    assert.ok(due.length > 500, `only ${due.length} writes were acknowledged in time`);
    const missing = due.filter(([id]) => !restored.has(id));
    assert.deepEqual(missing, [], `${missing.length} of ${due.length} writes are missing`);
    // What the restore holds was written: every id in it was acknowledged, or in flight at the kill.
    assert.ok(restored.size >= due.length && restored.size <= acked.length + 16 * 2, `${restored.size} restored`);
    assert.equal(sqlite(path.join(out, 'data.db'), 'PRAGMA integrity_check'), 'ok');

    // The restored directory serves: the SDK lists what the file holds.
    const back = await startServer({ dir: out });
    try {
      const pb = new PocketBase(back.url);
      const list = await pb.collection('posts').getList(1, 1);
      assert.equal(list.totalItems, restored.size);
    } finally {
      await back.stop();
    }
    rmSync(srv.dir, { recursive: true, force: true });
  });

  test('a restore to a moment holds exactly the writes committed before it; a restart starts a new generation', async () => {
    const replica = path.join(work, 'pit-replica');
    const dataDir = path.join(work, 'pit-data');
    let { srv } = await serverWithPosts(replica, dataDir);
    const before = [];
    for (let i = 0; i < 20; i++) before.push(await create(srv.url, 'before', i));
    await sleep(1000); // restore points are 300 ms apart
    const moment = new Date().toISOString();
    await sleep(1000);
    const afterIds = [];
    for (let i = 0; i < 20; i++) afterIds.push(await create(srv.url, 'after', i));
    srv.proc.kill('SIGTERM');
    await srv.exited;

    // A restart: a new generation with its own snapshot, and the writes after it.
    ({ srv } = await serverWithPosts(replica, dataDir));
    const third = await create(srv.url, 'restarted', 0);
    await sleep(1200); // shipped and synced
    const metrics = await fetch(srv.url + '/api/metrics', {
      headers: { Authorization: (await new PocketBase(srv.url).collection('_superusers').authWithPassword(SU.email, SU.password)).token },
    }).then((res) => res.text());
    const shipped = Number(metrics.match(/^basalt_replica_transactions_total (\d+)/m)?.[1]);
    assert.ok(shipped >= 1, metrics.split('\n').filter((l) => l.includes('replica')).join('\n'));
    const lag = Number(metrics.match(/^basalt_replica_lag_seconds (\S+)/m)?.[1]);
    assert.ok(lag >= 0 && lag < 1, `replica lag ${lag}`);
    srv.proc.kill('SIGKILL');
    await srv.exited;

    const list = restore(['--from', replica, '--list']);
    assert.equal(list.status, 0, list.stderr);
    assert.equal(list.stdout.trim().split('\n').length, 2, list.stdout);

    const atMoment = path.join(work, 'pit-moment');
    let r = restore(['--from', replica, '--to', moment, '--dir', atMoment]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual([...ids(atMoment)].sort(), [...before].sort());

    const latest = path.join(work, 'pit-latest');
    r = restore(['--from', replica, '--dir', latest]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual([...ids(latest)].sort(), [...before, ...afterIds, third].sort());

    // Refused: an existing database, a time that is not one, a moment before any snapshot, no replica.
    r = restore(['--from', replica, '--dir', latest]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /exists/);
    r = restore(['--from', replica, '--to', 'yesterday', '--dir', path.join(work, 'pit-bad')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /not a UTC time/);
    r = restore(['--from', replica, '--to', '2001-01-01T00:00:00Z', '--dir', path.join(work, 'pit-old')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no snapshot/);
    assert.ok(!existsSync(path.join(work, 'pit-old', 'data.db')));
    r = restore(['--from', path.join(work, 'nowhere'), '--dir', path.join(work, 'pit-none')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no replica/);
  });

  test('a damaged segment restores up to the last whole transaction before the damage', async () => {
    const replica = path.join(work, 'dmg-replica');
    const { srv } = await serverWithPosts(replica, path.join(work, 'dmg-data'));
    for (let i = 0; i < 10; i++) await create(srv.url, 'x', i);
    await sleep(1200); // shipped (a restore point every 300 ms)
    srv.proc.kill('SIGKILL');
    await srv.exited;
    const gen = restore(['--from', replica, '--list']).stdout.split(/\s+/)[0];
    const seg = path.join(replica, gen, '0000000000000001.seg');
    // Garbage appended (a torn write at a crash): ignored.
    writeFileSync(seg, Buffer.from('BTX1 torn record'), { flag: 'a' });
    const out = path.join(work, 'dmg-restored');
    const r = restore(['--from', replica, '--dir', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(ids(out).size, 10);
  });
});
