// The Backups page's pure helpers: backup names checked as the server checks them
// (src/backups/names.cpp, ValidName), sizes and dates for the list, its order, the scheduled
// backups settings (settings.backups, PocketBase's shape), and the wait for a restarting server.
// No Svelte and no DOM at import time: tests/e2e/backups.test.mjs runs them in node.

export const NAME_MAX = 150;
const NAME = /^[a-z0-9_-]+\.zip$/;

/** The client-side error for a backup name ('' when it is fine). Empty means "let the server name it". */
export function validateBackupName(name) {
  if (typeof name !== 'string' || name === '') return '';
  if (name.length > NAME_MAX) return `At most ${NAME_MAX} characters.`;
  if (!NAME.test(name)) return 'Use lowercase letters, digits, _ and - only, ending in .zip (like nightly_1.zip).';
  return '';
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** A byte count for people: 0 B, 900 B, 12.2 KB, 3 MB, 1.5 GB (1 KB = 1024 bytes). */
export function formatSize(bytes) {
  let n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return '';
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  if (unit === 0) return n + ' B';
  // 1023.96 KB would round to "1024 KB": show it as the next unit instead.
  if (Number(n.toFixed(1)) >= 1024 && unit < UNITS.length - 1) return '1 ' + UNITS[unit + 1];
  return n.toFixed(1).replace(/\.0$/, '') + ' ' + UNITS[unit];
}

/** PocketBase's datetime ("2026-12-03 13:59:25.010Z") as "2026-12-03 13:59:25 UTC"; other text as it is. */
export function formatModified(modified) {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?Z$/.exec(modified || '');
  return m ? `${m[1]} ${m[2]} UTC` : modified || '';
}

/** Newest first (by modified; the format sorts as text), then by name, so the order is stable. */
export function sortBackups(list) {
  return [...(list || [])].sort((a, b) => {
    if (a.modified !== b.modified) return a.modified < b.modified ? 1 : -1;
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
}

/** Seconds as m:ss, for the busy indicator. */
export function formatElapsed(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
}

const S3_KEYS = ['enabled', 'bucket', 'region', 'endpoint', 'accessKey', 'secret', 'forcePathStyle'];

/** settings.backups as the form edits it, with every key present. */
export function scheduleOf(settings) {
  const b = settings?.backups || {};
  const s3 = b.s3 || {};
  return {
    cron: typeof b.cron === 'string' ? b.cron : '',
    cronMaxKeep: b.cronMaxKeep ?? 3,
    s3: {
      enabled: !!s3.enabled,
      bucket: s3.bucket || '',
      region: s3.region || '',
      endpoint: s3.endpoint || '',
      accessKey: s3.accessKey || '',
      secret: s3.secret || '',
      forcePathStyle: !!s3.forcePathStyle,
    },
  };
}

/** What is sent: text trimmed, the S3 keys in PocketBase's order. */
export function normalizeSchedule(b) {
  // The server never sends the secret back: a blank one is left out, so the stored one is kept.
  const s3 = {};
  for (const k of S3_KEYS) {
    const v = b.s3[k];
    if (k === 'secret' && !v) continue;
    s3[k] = typeof v === 'string' && k !== 'secret' ? v.trim() : v;
  }
  return { cron: (b.cron || '').trim(), cronMaxKeep: b.cronMaxKeep, s3 };
}

/**
 * Client-side errors for settings.backups, keyed like the server's (`backups.cronMaxKeep`). The cron
 * expression itself is left to the server. The S3 secret is never sent back by the server, so a blank
 * one means "unchanged" and is not checked here.
 */
export function validateSchedule(b) {
  const errors = {};
  const keep = b.cronMaxKeep;
  if (keep === null || keep === undefined || keep === '') errors['backups.cronMaxKeep'] = 'Cannot be blank.';
  else if (!(typeof keep === 'number' && Number.isSafeInteger(keep) && keep >= 1)) errors['backups.cronMaxKeep'] = 'Must be a whole number, at least 1.';
  if (b.s3.enabled) {
    for (const k of ['bucket', 'region', 'endpoint', 'accessKey']) {
      if (!String(b.s3[k] || '').trim()) errors['backups.s3.' + k] = 'Cannot be blank.';
    }
    const endpoint = String(b.s3.endpoint || '').trim();
    if (endpoint && !/^https?:\/\/[^\s/]+/i.test(endpoint)) errors['backups.s3.endpoint'] = 'Must be a URL (like https://s3.example.com).';
  }
  return errors;
}

/**
 * Calls `check` every `interval` ms until it resolves truthy; rejects after `timeout` ms. A
 * check that throws (the server is down) counts as "not yet".
 */
export async function waitUntil(check, { interval = 250, timeout = 60_000, sleep = (ms) => new Promise((r) => setTimeout(r, ms)), now = () => Date.now() } = {}) {
  const deadline = now() + timeout;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (now() >= deadline) throw new Error('The server did not come back in time. Reload the page to check on it.');
    await sleep(interval);
  }
}

/**
 * Resolves once the server behind `url` stops: an open realtime stream (GET /api/realtime) ends
 * when the server shuts down, which a poll could miss when the restart is quick. `opened` resolves
 * once the stream is connected (its first event arrived), so the caller knows it is watching.
 * Call `cancel()` to give up.
 */
export function watchServerStop(url, fetchImpl = fetch) {
  const ctl = new AbortController();
  let onOpen;
  let onOpenFail;
  const opened = new Promise((resolve, reject) => {
    onOpen = resolve;
    onOpenFail = reject;
  });
  const stopped = (async () => {
    try {
      const res = await fetchImpl(url + '/api/realtime', { signal: ctl.signal, headers: { Accept: 'text/event-stream' }, cache: 'no-store' });
      if (!res.ok || !res.body) throw new Error('The realtime stream did not open (' + res.status + ').');
      const reader = res.body.getReader();
      let first = true;
      for (;;) {
        const { done } = await reader.read();
        if (first) {
          first = false;
          onOpen();
        }
        if (done) break;
      }
    } catch (e) {
      onOpenFail(e);
    }
  })();
  return { opened, stopped, cancel: () => ctl.abort() };
}

/**
 * POSTs `file` to /api/backups/upload with XMLHttpRequest (the SDK's fetch reports no upload
 * progress). onProgress gets a fraction 0..1. Rejects with an error shaped like the SDK's
 * ({status, response: the JSON body}) so fieldErrors() and errorText() read it.
 */
export function uploadBackup(baseUrl, token, file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', baseUrl.replace(/\/$/, '') + '/api/backups/upload');
    if (token) xhr.setRequestHeader('Authorization', token);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
        return;
      }
      let body = {};
      try {
        body = JSON.parse(xhr.responseText || '{}');
      } catch {
        body = {};
      }
      const err = new Error(body.message || `The upload failed (${xhr.status}).`);
      err.status = xhr.status;
      err.response = body;
      reject(err);
    };
    xhr.onerror = () => reject(new Error('The upload failed: the connection to the server was lost.'));
    xhr.onabort = () => reject(new Error('The upload was cancelled.'));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}
