// A small SMTP server for the tests: accepts every message (EHLO/HELO, AUTH PLAIN, MAIL, RCPT,
// DATA, RSET, NOOP, QUIT), decodes it and keeps it for the test to read.
import net from 'node:net';

function decodeWord(v) {
  return v.replace(/=\?UTF-8\?B\?([^?]*)\?=/gi, (_, b) => Buffer.from(b, 'base64').toString('utf8'));
}

function parse(raw, envelope) {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split);
  let body = raw.slice(split + 4);
  const headers = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  if ((headers['content-transfer-encoding'] || '').toLowerCase() === 'base64') {
    body = Buffer.from(body.replace(/\r\n/g, ''), 'base64').toString('utf8');
  }
  return { ...envelope, headers, subject: decodeWord(headers.subject || ''), html: body };
}

export async function startSmtpSink() {
  const messages = [];
  let waiters = [];
  const server = net.createServer((sock) => {
    sock.setEncoding('utf8');
    let buf = '';
    let inData = false;
    let envelope = { from: '', to: [] };
    let authContinues = false;
    sock.write('220 sink ESMTP\r\n');
    sock.on('data', (chunk) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          const raw = buf.slice(0, end).replace(/\r\n\.\./g, '\r\n.');
          buf = buf.slice(end + 5);
          inData = false;
          messages.push(parse(raw, envelope));
          envelope = { from: '', to: [] };
          sock.write('250 OK queued\r\n');
          const ready = waiters;
          waiters = [];
          for (const w of ready) w();
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (authContinues) {
          authContinues = false;
          sock.write('235 Authenticated\r\n');
        } else if (cmd === 'AUTH' && line.trim().split(/\s+/).length < 3) {
          authContinues = true; // the credentials follow on their own line
          sock.write('334 \r\n');
        } else if (cmd === 'EHLO') sock.write('250-sink\r\n250-AUTH PLAIN\r\n250 OK\r\n');
        else if (cmd === 'HELO') sock.write('250 sink\r\n');
        else if (cmd === 'AUTH') sock.write('235 Authenticated\r\n');
        else if (cmd === 'MAIL') {
          envelope.from = (line.match(/<([^>]*)>/) || [])[1] || '';
          sock.write('250 OK\r\n');
        } else if (cmd === 'RCPT') {
          envelope.to.push((line.match(/<([^>]*)>/) || [])[1] || '');
          sock.write('250 OK\r\n');
        } else if (cmd === 'DATA') {
          inData = true;
          sock.write('354 End data with <CR><LF>.<CR><LF>\r\n');
        } else if (cmd === 'QUIT') {
          sock.end('221 Bye\r\n');
          return;
        } else sock.write('250 OK\r\n');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    messages,
    /** Resolves with the first message (new or already received) that `match` accepts. */
    async waitFor(match, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error('no such mail; got: ' + messages.map((m) => `${m.to} ${m.subject}`).join(', '));
        await new Promise((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
