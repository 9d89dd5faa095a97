// Multi-factor sign-in: the collection's MFA (a first method answers 401 with an mfaId, a second,
// different one completes it) and TOTP (an authenticator app, enrolled by the user, with recovery
// codes), through the SDK and plain HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';
import { startSmtpSink } from './smtp_sink.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const PASS = 'secret-pass-1';

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of s.replace(/=+$/, '')) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totp(secret, offsetSteps = 0) {
  const step = Math.floor(Date.now() / 1000 / 30) + offsetSteps;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const o = mac[mac.length - 1] & 15;
  const n = ((mac[o] & 127) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(n % 1e6).padStart(6, '0');
}

describe('MFA and TOTP', () => {
  let srv;
  let sink;
  let su;
  const client = () => new PocketBase(srv.url);
  const post = (path, body, token) =>
    getJson(srv.url + path, {
      method: 'POST',
      headers: { ...(token ? { Authorization: token } : {}), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  before(async () => {
    sink = await startSmtpSink();
    srv = await startServer({ superuser: SU });
    su = client();
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.settings.update({ smtp: { enabled: true, host: '127.0.0.1', port: sink.port }, meta: { senderAddress: 'no-reply@example.com' } });
    for (const email of ['totp@example.com', 'mfa@example.com']) {
      await client().collection('users').create({ email, password: PASS, passwordConfirm: PASS });
    }
  });
  after(async () => {
    if (srv) await srv.stop();
    if (sink) await sink.close();
  });

  test('TOTP: enrol, then sign-ins need the code (once per time step) or a recovery code', async () => {
    const pb = client();
    await pb.collection('users').authWithPassword('totp@example.com', PASS);
    const token = pb.authStore.token;
    assert.equal((await post('/api/collections/users/totp-setup', { password: 'wrong-pass-1' }, token)).status, 400);
    assert.equal((await post('/api/collections/users/totp-setup', { password: PASS })).status, 401);
    const setup = await post('/api/collections/users/totp-setup', { password: PASS }, token);
    assert.equal(setup.status, 200);
    assert.match(setup.body.secret, /^[A-Z2-7]{32}$/);
    assert.match(setup.body.uri, /^otpauth:\/\/totp\/.*totp@example\.com\?secret=/);
    // Not enabled until a code proves the app has it.
    await client().collection('users').authWithPassword('totp@example.com', PASS);
    assert.equal((await post('/api/collections/users/totp-enable', { code: '000000' }, token)).status, 400);
    const enabled = await post('/api/collections/users/totp-enable', { code: totp(setup.body.secret) }, token);
    assert.equal(enabled.status, 200);
    const recovery = enabled.body.recoveryCodes;
    assert.equal(recovery.length, 10);

    // The password alone now answers 401 with an mfaId.
    const first = await post('/api/collections/users/auth-with-password', { identity: 'totp@example.com', password: PASS });
    assert.equal(first.status, 401);
    assert.equal(typeof first.body.mfaId, 'string');
    await assert.rejects(client().collection('users').authWithPassword('totp@example.com', PASS), (e) => e.status === 401 && typeof e.response.mfaId === 'string');
    // A wrong code fails; the right one signs in. The code of the step used at enable time is
    // spent, so take the next step's code when they collide.
    assert.equal((await post('/api/collections/users/auth-with-totp', { mfaId: first.body.mfaId, code: '000000' })).status, 400);
    let code = totp(setup.body.secret);
    let done = await post('/api/collections/users/auth-with-totp', { mfaId: first.body.mfaId, code });
    if (done.status !== 200) {
      code = totp(setup.body.secret, 1);
      done = await post('/api/collections/users/auth-with-totp', { mfaId: first.body.mfaId, code });
    }
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.record.email, 'totp@example.com');
    // The same code cannot be used again, and the mfaId is spent.
    const again = await post('/api/collections/users/auth-with-password', { identity: 'totp@example.com', password: PASS });
    assert.equal((await post('/api/collections/users/auth-with-totp', { mfaId: again.body.mfaId, code })).status, 400);
    assert.equal((await post('/api/collections/users/auth-with-totp', { mfaId: first.body.mfaId, code: totp(setup.body.secret, 1) })).status, 400);
    // A recovery code works once.
    const viaRecovery = await post('/api/collections/users/auth-with-totp', { mfaId: again.body.mfaId, code: recovery[0] });
    assert.equal(viaRecovery.status, 200);
    const third = await post('/api/collections/users/auth-with-password', { identity: 'totp@example.com', password: PASS });
    assert.equal((await post('/api/collections/users/auth-with-totp', { mfaId: third.body.mfaId, code: recovery[0] })).status, 400);
    // Disabling needs the password; then the password alone is enough again.
    assert.equal((await post('/api/collections/users/totp-disable', { password: 'wrong-pass-1' }, done.body.token)).status, 400);
    assert.equal((await post('/api/collections/users/totp-disable', { password: PASS }, done.body.token)).status, 204);
    assert.equal((await post('/api/collections/users/auth-with-password', { identity: 'totp@example.com', password: PASS })).status, 200);
  });

  test("the collection's MFA: password then OTP (a different method) within the MFA duration", async () => {
    await su.collections.update('users', { mfa: { enabled: true, duration: 600 }, otp: { enabled: true } });
    const pb = client();
    let mfaId;
    await assert.rejects(pb.collection('users').authWithPassword('mfa@example.com', PASS), (e) => {
      mfaId = e.response.mfaId;
      return e.status === 401;
    });
    // The same method twice does not count.
    const same = await post(`/api/collections/users/auth-with-password?mfaId=${mfaId}`, { identity: 'mfa@example.com', password: PASS });
    assert.equal(same.status, 400);
    assert.match(same.body.message, /different/);
    // An OTP completes it (the SDK sends mfaId as a query parameter).
    const seen = sink.messages.length;
    const { otpId } = await pb.collection('users').requestOTP('mfa@example.com');
    const mail = await sink.waitFor((m) => sink.messages.indexOf(m) >= seen && m.to.includes('mfa@example.com'));
    const code = mail.html.match(/<strong>(\d+)<\/strong>/)[1];
    const auth = await pb.collection('users').authWithOTP(otpId, code, { mfaId });
    assert.equal(auth.record.email, 'mfa@example.com');
    assert.ok(pb.authStore.isValid);
    // Someone else's mfaId does not help.
    const other = await post('/api/collections/users/auth-with-password', { identity: 'totp@example.com', password: PASS });
    assert.equal(other.status, 401);
    const seen2 = sink.messages.length;
    const { otpId: otp2 } = await client().collection('users').requestOTP('mfa@example.com');
    const mail2 = await sink.waitFor((m) => sink.messages.indexOf(m) >= seen2 && m.to.includes('mfa@example.com'));
    const code2 = mail2.html.match(/<strong>(\d+)<\/strong>/)[1];
    const wrong = await post(`/api/collections/users/auth-with-otp?mfaId=${other.body.mfaId}`, { otpId: otp2, password: code2 });
    assert.equal(wrong.status, 400);
    await su.collections.update('users', { mfa: { enabled: false } });
  });
});
