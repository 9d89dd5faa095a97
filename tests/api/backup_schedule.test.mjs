// Scheduled backups (PocketBase's settings.backups.cron and cronMaxKeep, its "__pbAutoBackup__"
// cron): the settings validated as PocketBase validates them, the cron set, changed and removed as
// the settings change, each run making an "@auto_pb_backup_…" archive and keeping only the newest
// cronMaxKeep of them (backups made by hand are never pruned), and those keys usable through the
// SDK like any other (download, restore checks, delete).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { failure, sleep, startServer } from './helpers.mjs';

const SU = { email: 'sched@example.com', password: 'sched-password-1' };

describe('scheduled backups', () => {
  let srv;
  let su;

  const autoKeys = async () => (await su.backups.getFullList()).map((b) => b.key).filter((k) => k.startsWith('@auto_pb_backup_')).sort();
  const crons = async () => (await su.crons.getFullList()).map((c) => c.id);
  // Runs the schedule's cron now (as a job) and waits until the set of scheduled backups changes.
  const runOnce = async () => {
    const before = JSON.stringify(await autoKeys());
    await su.crons.run('__pbAutoBackup__');
    for (let i = 0; i < 200; i++) {
      const now = await autoKeys();
      if (JSON.stringify(now) !== before) return now;
      await sleep(50);
    }
    throw new Error('the scheduled backup did not appear');
  };

  before(async () => {
    srv = await startServer({ superuser: SU });
    su = new PocketBase(srv.url);
    su.autoCancellation(false);
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.settings.update({ meta: { appName: 'Sched App' } });
  });
  after(async () => {
    await srv?.stop();
  });

  test('off by default: no cron, fresh-install settings as PocketBase', async () => {
    const s = await su.settings.getAll();
    assert.equal(s.backups.cron, '');
    assert.equal(s.backups.cronMaxKeep, 3);
    assert.ok(!(await crons()).includes('__pbAutoBackup__'));
  });

  test('invalid schedules are refused with the field errors, nothing saved', async () => {
    let e = await failure(su.settings.update({ backups: { cron: 'every day', cronMaxKeep: 3 } }));
    assert.equal(e.status, 400);
    assert.equal(e.data.data.backups.cron.code, 'validation_invalid_cron');
    e = await failure(su.settings.update({ backups: { cron: '61 * * * *', cronMaxKeep: 3 } }));
    assert.equal(e.data.data.backups.cron.code, 'validation_invalid_cron');
    e = await failure(su.settings.update({ backups: { cron: '0 3 * * *', cronMaxKeep: 0 } }));
    assert.equal(e.data.data.backups.cronMaxKeep.code, 'validation_required');
    e = await failure(su.settings.update({ backups: { cron: '', cronMaxKeep: -1 } }));
    assert.equal(e.data.data.backups.cronMaxKeep.code, 'validation_min_number_constraint');
    assert.equal((await su.settings.getAll()).backups.cron, '');
    assert.ok(!(await crons()).includes('__pbAutoBackup__'));
  });

  test('a schedule adds the cron; each run makes a backup; only the newest cronMaxKeep stay', async () => {
    await su.backups.create('by-hand.zip');
    await su.settings.update({ backups: { cron: '0 3 * * *', cronMaxKeep: 2 } });
    assert.ok((await crons()).includes('__pbAutoBackup__'));
    const made = [];
    for (let i = 0; i < 3; i++) {
      const keys = await runOnce();
      made.push(keys.find((k) => !made.includes(k)));
      await sleep(1100); // names carry the second
    }
    for (const k of made) assert.match(k, /^@auto_pb_backup_sched_app_\d{14}\.zip$/);
    assert.deepEqual(await autoKeys(), made.slice(1).sort(), 'the oldest scheduled backup was removed');
    const all = (await su.backups.getFullList()).map((b) => b.key);
    assert.ok(all.includes('by-hand.zip'), 'a backup made by hand is never pruned');

    // Lowering cronMaxKeep takes effect at the next run.
    await su.settings.update({ backups: { cronMaxKeep: 1 } });
    const keys = await runOnce();
    assert.equal(keys.length, 1);
    assert.ok(!made.includes(keys[0]), 'the one kept is the newest');
  });

  test("the schedule's keys work through the SDK: download, delete", async () => {
    const [key] = await autoKeys();
    const token = await su.files.getToken();
    const res = await fetch(su.backups.getDownloadURL(token, key));
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(await res.arrayBuffer()).subarray(0, 2).toString(), 'PK');
    await su.backups.delete(key);
    assert.deepEqual(await autoKeys(), []);
    // A client cannot choose such a name.
    const e = await failure(su.backups.create('@auto_pb_backup_x.zip'));
    assert.equal(e.data.data.name.code, 'validation_match_invalid');
  });

  test('clearing the cron removes it', async () => {
    await su.settings.update({ backups: { cron: '' } });
    assert.ok(!(await crons()).includes('__pbAutoBackup__'));
    const e = await failure(su.crons.run('__pbAutoBackup__'));
    assert.equal(e.status, 404);
  });
});
