// Point-in-time recovery into an S3 bucket (`serve --replicate s3://BUCKET/PREFIX`): segments and
// snapshots are staged beside the data and uploaded; an outage of the bucket is ridden out (uploads
// retried), a SIGKILL during it loses nothing once the server is back (what was staged is uploaded
// at the next start), and `basalt restore --from s3://...` rebuilds the database from the bucket
// alone. The bucket is npm's s3rver behind the SigV4-verifying proxy of tests/api/s3_server.mjs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { cliAsync, sleep, sqlite, startServer } from './helpers.mjs';
import { ACCESS_KEY, SECRET, startS3 } from './s3_server.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };

describe('point-in-time recovery into S3', () => {
  let s3;
  let work;
  let env;
  before(async () => {
    s3 = await startS3();
    work = mkdtempSync(path.join(os.tmpdir(), 'basalt-replica-s3-'));
    env = {
      BASALT_REPLICA_S3_ENDPOINT: s3.endpoint,
      BASALT_REPLICA_S3_ACCESS_KEY: ACCESS_KEY,
      BASALT_REPLICA_S3_SECRET: SECRET,
      BASALT_REPLICA_S3_PATH_STYLE: 'true',
    };
  });
  after(async () => {
    await s3?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const dest = () => `s3://${s3.bucket}/pitr`;
  const restore = (args) => cliAsync(['restore', '--from', dest(), ...args], { env: { ...process.env, ...env } });

  async function serve(dataDir) {
    const srv = await startServer({ superuser: SU, dir: dataDir, args: ['--replicate', dest()], env });
    const su = new PocketBase(srv.url);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    if (!(await su.collections.getFullList()).some((c) => c.name === 'posts')) {
      await su.collections.create({ name: 'posts', type: 'base', createRule: '', fields: [{ name: 'title', type: 'text' }] });
    }
    return srv;
  }

  // Writers creating posts until stop(); every acknowledged one is recorded with its time.
  function load(url, acked) {
    let running = true;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; running; i++) {
        try {
          const res = await fetch(url + '/api/collections/posts/records', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ title: `w${w}-${i}` }),
          });
          if (res.status === 200) acked.push([(await res.json()).id, Date.now()]);
        } catch {
          return; // killed
        }
      }
    });
    return async () => {
      running = false;
      await Promise.all(writers);
    };
  }

  function ids(dir) {
    const out = sqlite(path.join(dir, 'data.db'), 'SELECT id FROM posts');
    return new Set(out ? out.split('\n') : []);
  }

  test('a bucket outage and a SIGKILL during it lose nothing; restore reads the bucket alone', async () => {
    const dataDir = path.join(work, 'data');
    const acked = [];

    // 1. Writes with the bucket up, then an outage, and the server killed during it.
    let srv = await serve(dataDir);
    let stop = load(srv.url, acked);
    await sleep(1500);
    s3.setDown(true);
    await sleep(1500);
    srv.proc.kill('SIGKILL');
    const killed = Date.now();
    await stop();
    await srv.exited;
    const beforeKill = acked.length;
    assert.ok(beforeKill > 100, `${beforeKill} writes`);

    // 2. The bucket back, the server restarted: what was staged is uploaded; more writes.
    s3.setDown(false);
    await sleep(50);
    const restarted = new Date().toISOString();
    srv = await serve(dataDir);
    stop = load(srv.url, acked);
    await sleep(2000);
    await stop();
    await sleep(1500); // the last segments uploaded
    srv.proc.kill('SIGKILL');
    await srv.exited;

    const keys = await s3.keys('pitr/');
    const generations = new Set(keys.map((k) => k.split('/')[1]));
    assert.equal(generations.size, 2, keys.slice(0, 5).join(' '));
    assert.ok(keys.some((k) => k.endsWith('/snapshot.db')) && keys.some((k) => k.endsWith('.seg')));

    // Restored as of just before the restart: the first generation, its segments uploaded by the
    // second run. Every write acknowledged before the kill is in it (the outage staged them).
    const first = path.join(work, 'restored-first');
    let r = await restore(['--to', restarted, '--dir', first]);
    assert.equal(r.status, 0, r.stderr);
    const firstIds = ids(first);
    const lost = acked.slice(0, beforeKill).filter(([id, t]) => t < killed - 1000 && !firstIds.has(id));
    assert.deepEqual(lost, []);

    // The latest: everything acknowledged.
    const latest = path.join(work, 'restored-latest');
    r = await restore(['--dir', latest]);
    assert.equal(r.status, 0, r.stderr);
    const latestIds = ids(latest);
    assert.deepEqual(acked.filter(([id]) => !latestIds.has(id)), []);
    assert.equal(sqlite(path.join(latest, 'data.db'), 'PRAGMA integrity_check'), 'ok');

    const list = await restore(['--list']);
    assert.equal(list.status, 0, list.stderr);
    assert.equal(list.stdout.trim().split('\n').length, 2, list.stdout);

    // Wrong keys: refused with the reason, nothing created.
    const bad = await cliAsync(['restore', '--from', dest(), '--dir', path.join(work, 'bad')], {
      env: { ...process.env, ...env, BASALT_REPLICA_S3_SECRET: 'wrong' },
    });
    assert.notEqual(bad.status, 0);
    assert.doesNotMatch(bad.stderr, /wrong/);
  });
});
