// Email flows through a real SMTP conversation (libcurl -> a local sink): verification, password
// reset, email change and one-time passwords, with the collection's templates and the settings'
// sender. Answers never tell whether an address is known.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';
import { getJson, startServer } from './helpers.mjs';
import { startSmtpSink } from './smtp_sink.mjs';

const SU = { email: 'root@example.com', password: 'root-password-1' };
const PASS = 'secret-pass-1';

describe('email: verification, password reset, email change, OTP', () => {
  let srv;
  let sink;
  let su;
  const client = () => new PocketBase(srv.url);
  const tokenIn = (mail) => (mail.html.match(/\/(?:confirm-verification|confirm-password-reset|confirm-email-change)\/([A-Za-z0-9_.-]+)/) || [])[1];
  const send = (method, path, body) =>
    getJson(srv.url + path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  before(async () => {
    sink = await startSmtpSink();
    srv = await startServer({ superuser: SU });
    su = client();
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    await su.settings.update({
      meta: { appName: 'Acme Notes', appURL: 'https://notes.example.com', senderName: 'Acme Support', senderAddress: 'support@acme.example' },
      smtp: { enabled: true, host: '127.0.0.1', port: sink.port, username: 'mailer', password: 'mail-secret' },
    });
    for (const email of ['verify@example.com', 'reset@example.com', 'change@example.com', 'otp@example.com']) {
      await client().collection('users').create({ email, password: PASS, passwordConfirm: PASS });
    }
  });
  after(async () => {
    if (srv) await srv.stop();
    if (sink) await sink.close();
  });

  test('a test email goes out with the saved settings; SMTP errors are reported', async () => {
    assert.equal(await su.settings.testEmail('_superusers', 'check@example.com', 'verification'), true);
    const mail = await sink.waitFor((m) => m.to.includes('check@example.com'));
    assert.match(mail.subject, /Test email from Acme Notes/);
    await assert.rejects(su.settings.testEmail('_superusers', 'not-an-email', 'verification'), (e) => e.status === 400);
    await assert.rejects(client().settings.testEmail('_superusers', 'check@example.com', 'verification'), (e) => e.status === 401);
  });

  test('the settings keep the SMTP password secret', async () => {
    const s = await su.settings.getAll();
    assert.equal(s.smtp.enabled, true);
    assert.equal(s.smtp.password, '');
  });

  test('verification: a mail with a link token, confirmed once, unknown addresses get the same answer', async () => {
    const pb = client();
    assert.equal(await pb.collection('users').requestVerification('verify@example.com'), true);
    const mail = await sink.waitFor((m) => m.to.includes('verify@example.com'));
    assert.equal(mail.from, 'support@acme.example');
    assert.match(mail.headers.from, /Acme Support/);
    assert.match(mail.subject, /Acme Notes/);
    assert.match(mail.html, /https:\/\/notes\.example\.com\/_\/#\/auth\/confirm-verification\//);
    const token = tokenIn(mail);
    assert.ok(token);
    // Unknown address: 204 as well, and no mail.
    assert.equal((await send('POST', '/api/collections/users/request-verification', { email: 'nobody@example.com' })).status, 204);
    assert.equal((await send('POST', '/api/collections/users/request-verification', { email: 'not-an-email' })).status, 400);
    const huge = await send('POST', '/api/collections/users/confirm-verification', { token: 'x'.repeat(5000) });
    assert.equal(huge.status, 400);
    assert.equal(huge.body.data.token.code, 'validation_length_too_long');
    const bad = await send('POST', '/api/collections/users/confirm-verification', { token: token.slice(0, -3) + 'abc' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.data.token.code, 'validation_invalid_token');
    assert.equal(await pb.collection('users').confirmVerification(token), true);
    await pb.collection('users').authWithPassword('verify@example.com', PASS);
    assert.equal(pb.authStore.record.verified, true);
    // A token for another purpose is refused.
    assert.equal((await send('POST', '/api/collections/users/confirm-password-reset', { token, password: 'x-new-pass-1', passwordConfirm: 'x-new-pass-1' })).status, 400);
    assert.ok(!sink.messages.some((m) => m.to.includes('nobody@example.com')));
  });

  test('password reset: the token sets a new password once and ends every session', async () => {
    const old = client();
    await old.collection('users').authWithPassword('reset@example.com', PASS);
    assert.equal(await client().collection('users').requestPasswordReset('reset@example.com'), true);
    const mail = await sink.waitFor((m) => m.to.includes('reset@example.com') && /password/i.test(m.subject));
    const token = tokenIn(mail);
    const mismatch = await send('POST', '/api/collections/users/confirm-password-reset', { token, password: 'new-pass-123', passwordConfirm: 'other-pass-1' });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.data.passwordConfirm.code, 'validation_values_mismatch');
    assert.equal(await client().collection('users').confirmPasswordReset(token, 'new-pass-123', 'new-pass-123'), true);
    assert.equal((await getJson(srv.url + '/api/collections/users/auth-refresh', { method: 'POST', headers: { Authorization: old.authStore.token } })).status, 401);
    await assert.rejects(client().collection('users').authWithPassword('reset@example.com', PASS), (e) => e.status === 400);
    await client().collection('users').authWithPassword('reset@example.com', 'new-pass-123');
    // Spent: the record's key changed with the password.
    assert.equal((await send('POST', '/api/collections/users/confirm-password-reset', { token, password: 'again-pass-1', passwordConfirm: 'again-pass-1' })).status, 400);
    // The change reached the outbox like any other: the record's update and a password change.
    const events = (await getJson(srv.url + '/api/events?limit=1000', { headers: { Authorization: su.authStore.token } })).body.items;
    const id = (await su.collection('users').getFirstListItem('email = "reset@example.com"')).id;
    const mine = events.filter((e) => e.recordId === id).map((e) => e.action);
    assert.ok(mine.includes('auth.passwordChange') && mine.includes('update'), mine.join(','));
    assert.equal(events.find((e) => e.recordId === id && e.action === 'update' && e.record).record.password, undefined);
  });

  test('email change: mailed to the new address, confirmed with the password', async () => {
    const pb = client();
    await pb.collection('users').authWithPassword('change@example.com', PASS);
    assert.equal((await send('POST', '/api/collections/users/request-email-change', { newEmail: 'changed@example.com' })).status, 401);
    const taken = await getJson(srv.url + '/api/collections/users/request-email-change', {
      method: 'POST',
      headers: { Authorization: pb.authStore.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ newEmail: 'verify@example.com' }),
    });
    assert.equal(taken.status, 400);
    assert.equal(await pb.collection('users').requestEmailChange('changed@example.com'), true);
    const mail = await sink.waitFor((m) => m.to.includes('changed@example.com'));
    const token = tokenIn(mail);
    const wrong = await send('POST', '/api/collections/users/confirm-email-change', { token, password: 'wrong-pass-1' });
    assert.equal(wrong.status, 400);
    assert.equal(await pb.collection('users').confirmEmailChange(token, PASS), true);
    const again = client();
    await again.collection('users').authWithPassword('changed@example.com', PASS);
    assert.equal(again.authStore.record.email, 'changed@example.com');
    assert.equal(again.authStore.record.verified, true);
    await assert.rejects(client().collection('users').authWithPassword('change@example.com', PASS), (e) => e.status === 400);
  });

  test('a sign-in from a new device mails an alert; a known one does not', async () => {
    await client().collection('users').create({ email: 'alert@example.com', password: PASS, passwordConfirm: PASS });
    const signIn = (ua) =>
      getJson(srv.url + '/api/collections/users/auth-with-password', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': ua },
        body: JSON.stringify({ identity: 'alert@example.com', password: PASS }),
      });
    const alerts = () => sink.messages.filter((m) => m.to.includes('alert@example.com') && /new sign-in/i.test(m.subject));
    assert.equal((await signIn('laptop-browser')).status, 200);
    assert.equal((await signIn('laptop-browser')).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(alerts().length, 0, 'the first device and its repeats are not news');
    assert.equal((await signIn('phone-app')).status, 200);
    const mail = await sink.waitFor((m) => m.to.includes('alert@example.com') && /new sign-in/i.test(m.subject));
    assert.match(mail.html, /phone-app/);
    assert.equal(alerts().length, 1);
  });

  test('one-time passwords: enabled per collection, single use, limited attempts, no enumeration', async () => {
    const pb = client();
    await assert.rejects(pb.collection('users').requestOTP('otp@example.com'), (e) => e.status === 403);
    await su.collections.update('users', { otp: { enabled: true, length: 6 } });
    const methods = await pb.collection('users').listAuthMethods();
    assert.equal(methods.otp.enabled, true);
    const { otpId } = await pb.collection('users').requestOTP('otp@example.com');
    assert.equal(typeof otpId, 'string');
    const mail = await sink.waitFor((m) => m.to.includes('otp@example.com') && /code/i.test(m.subject));
    const code = mail.html.match(/<strong>(\d+)<\/strong>/)[1];
    assert.equal(code.length, 6);
    await assert.rejects(pb.collection('users').authWithOTP(otpId, '000000' === code ? '111111' : '000000'), (e) => e.status === 400);
    const auth = await pb.collection('users').authWithOTP(otpId, code);
    assert.equal(auth.record.email, 'otp@example.com');
    assert.equal(auth.record.verified, true, 'the code proves the mailbox');
    await assert.rejects(client().collection('users').authWithOTP(otpId, code), (e) => e.status === 400);
    // Unknown address: an id all the same, which never works.
    const fake = await client().collection('users').requestOTP('ghost@example.com');
    assert.equal(typeof fake.otpId, 'string');
    await assert.rejects(client().collection('users').authWithOTP(fake.otpId, code), (e) => e.status === 400);
    // Five wrong codes end an OTP.
    const seen = sink.messages.length;
    const { otpId: second } = await client().collection('users').requestOTP('otp@example.com');
    const mail2 = await sink.waitFor((m) => sink.messages.indexOf(m) >= seen && m.to.includes('otp@example.com'));
    const code2 = mail2.html.match(/<strong>(\d+)<\/strong>/)[1];
    for (let i = 0; i < 5; i++) {
      await assert.rejects(client().collection('users').authWithOTP(second, code2 === '123456' ? '654321' : '123456'), (e) => e.status === 400);
    }
    await assert.rejects(client().collection('users').authWithOTP(second, code2), (e) => e.status === 400);
  });
});
