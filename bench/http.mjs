// The benchmark seeders' HTTP client: JSON over keep-alive connections (64 at most).
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** A JSON request to `url + path` with `Authorization: token` when given; resolves the parsed body. */
export function request(url, method, path, body, token) {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : '';
    const req = http.request(
      url + path,
      {
        method,
        agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(data),
          ...(token ? { Authorization: token } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => (res.statusCode < 300 ? resolve(text ? JSON.parse(text) : null) : reject(new Error(`${res.statusCode} ${text}`))));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** Closes the kept-alive connections so that node can exit. */
export function close() {
  agent.destroy();
}
