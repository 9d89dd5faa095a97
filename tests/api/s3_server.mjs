// A local S3-compatible server for the tests: npm's s3rver (objects on disk in a temp folder) behind
// a small proxy that verifies each request's AWS SigV4 signature. s3rver 3.7 checks only that a V4
// request's access key exists ("Signature version 4 calculation is unimplemented" in its
// authentication middleware), so the proxy recomputes the signature from the request as it arrived,
// the way S3 does, and refuses a mismatch with S3's 403 SignatureDoesNotMatch. The verifier is
// independent of basalt's signer (libcurl's), so a request it accepts is one S3 would accept.
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export const ACCESS_KEY = 'S3RVER'; // s3rver's built-in account
export const SECRET = 'S3RVER';

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

// AWS's UriEncode (RFC 3986 unreserved kept, everything else %XX upper case).
const uriEncode = (s) =>
  Array.from(Buffer.from(s, 'utf8'))
    .map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0')))
    .join('');

function canonicalQuery(raw) {
  if (!raw) return '';
  return raw
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const k = decodeURIComponent(eq < 0 ? p : p.slice(0, eq));
      const v = eq < 0 ? '' : decodeURIComponent(p.slice(eq + 1));
      return [uriEncode(k), uriEncode(v)];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

// The reason a request is refused, or null when its signature is right.
function verify(req, body, secrets) {
  const auth = req.headers.authorization;
  if (!auth) return 'no Authorization header';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'malformed Authorization header';
  const [, accessKey, date, region, signedHeaders, signature] = m;
  const secret = secrets.get(accessKey);
  if (secret === undefined) return 'unknown access key';
  const amzDate = req.headers['x-amz-date'] || '';
  if (!amzDate.startsWith(date)) return 'x-amz-date does not match the credential scope';
  const names = signedHeaders.split(';');
  for (const required of ['host', 'x-amz-content-sha256', 'x-amz-date']) {
    if (!names.includes(required)) return `${required} is not signed`;
  }
  const payload = req.headers['x-amz-content-sha256'];
  if (payload !== 'UNSIGNED-PAYLOAD' && payload !== sha256(body)) return 'the payload hash does not match';
  const [rawPath, rawQuery = ''] = req.url.split(/\?(.*)/s);
  const headers = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, rawPath, canonicalQuery(rawQuery), headers, signedHeaders, payload].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), 's3'), 'aws4_request');
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  return expected === signature ? null : 'signature mismatch';
}

/**
 * Starts s3rver with `bucket` and the verifying proxy in front of it. Returns {endpoint (the proxy),
 * direct (s3rver itself, unsigned requests allowed), requests (method + url of each verified
 * request), refused (count), keys(prefix), setDown(bool) (an outage: 503 to everything), close()}.
 */
export async function startS3({ bucket = 'basalt' } = {}) {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'basalt-s3-'));
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port: s3Port } = await s3.run();
  const direct = `http://127.0.0.1:${s3Port}`;
  const secrets = new Map([[ACCESS_KEY, SECRET]]);
  const requests = [];
  let refused = 0;
  let down = false; // setDown(true): every request answered 503, as a bucket in an outage

  const proxy = http.createServer((req, res) => {
    if (down) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>');
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const why = verify(req, body, secrets);
      if (why) {
        refused++;
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request ' +
            'signature we calculated does not match the signature you provided. Check your key and signing ' +
            `method.</Message><Detail>${why}</Detail></Error>`,
        );
        return;
      }
      requests.push({ method: req.method, url: req.url, range: req.headers.range, contentType: req.headers['content-type'] });
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      delete headers.expect;
      const up = http.request({ host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${proxy.address().port}`;

  // The keys under `prefix`, straight from s3rver (unsigned requests pass its authentication).
  async function keys(prefix = '') {
    const out = [];
    let token = '';
    for (;;) {
      const q = new URLSearchParams({ 'list-type': '2', prefix });
      if (token) q.set('continuation-token', token);
      const xml = await (await fetch(`${direct}/${bucket}?${q}`)).text();
      for (const k of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) out.push(k[1].replace(/&amp;/g, '&'));
      const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml);
      if (!/<IsTruncated>true<\/IsTruncated>/.test(xml) || !next) break;
      token = next[1];
    }
    return out.sort();
  }

  return {
    bucket,
    endpoint,
    direct,
    requests,
    setDown(value) {
      down = value;
    },
    get refused() {
      return refused;
    },
    keys,
    async close() {
      proxy.closeAllConnections?.();
      await new Promise((resolve) => proxy.close(resolve));
      await s3.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
