// The dashboard talks to basalt only through its public API, with the official SDK.
import PocketBase, { LocalAuthStore } from 'pocketbase';
import { bodyLost } from './response.js';

export const pb = new PocketBase(window.location.origin, new LocalAuthStore('basalt_admin_auth'));
pb.autoCancellation(false);
// A lost body becomes an error the panels show (or nobody sees, when the page is going away),
// never an empty answer rendered as if the server had sent it.
pb.afterSend = (response, data) => {
  if (bodyLost(response, data)) throw new Error('The answer from the server was cut off. Try again.');
  return data;
};

/** The server's validation errors as {field: message}, for showing next to their fields. */
export function fieldErrors(err) {
  const out = {};
  const data = err?.response?.data || {};
  const walk = (obj, prefix) => {
    for (const [k, v] of Object.entries(obj || {})) {
      if (v && typeof v === 'object' && typeof v.message === 'string') out[prefix + k] = v.message;
      else if (v && typeof v === 'object') walk(v, prefix + k + '.');
    }
  };
  walk(data, '');
  return out;
}

export function errorText(err) {
  return err?.response?.message || err?.message || 'Something went wrong.';
}

export const FIELD_TYPES = ['text', 'number', 'bool', 'email', 'url', 'date', 'select', 'json', 'relation', 'file', 'editor', 'autodate', 'geoPoint'];

// A file token (POST /api/files/token) opens protected files; it is valid for a few minutes (180 s
// by default), so one is shared by every thumbnail and link and fetched again after two minutes.
export const TOKEN_REUSE_MS = 120_000;
let cached = null; // {promise, at}
const issued = new Map(); // token -> when it was asked for (the last few)

/** A file token for the signed-in superuser, fresh enough to use now. */
export function fileToken() {
  if (!cached || Date.now() - cached.at > TOKEN_REUSE_MS) {
    const c = { at: Date.now() };
    c.promise = pb.files.getToken().then(
      (t) => {
        issued.set(t, c.at);
        if (issued.size > 8) issued.delete(issued.keys().next().value);
        return t;
      },
      (e) => {
        if (cached === c) cached = null;
        throw e;
      },
    );
    cached = c;
  }
  return cached.promise;
}

/** How long ago a token fileToken() gave was asked for (Infinity for any other). */
export function fileTokenAge(t) {
  return issued.has(t) ? Date.now() - issued.get(t) : Infinity;
}

/** The names a record holds in a file field (a string for single fields, a list for multiple). */
export function fileNames(value) {
  if (Array.isArray(value)) return value.filter(Boolean);
  return value ? [value] : [];
}

// The images the server makes thumbnails of (PNG, JPEG, GIF, WebP); other files get an icon.
const THUMBABLE = /\.(png|jpe?g|gif|webp)$/i;
export const hasThumb = (name) => THUMBABLE.test(name || '');

/** The URL of a stored file; `token` for protected fields, `thumb` (e.g. '100x100') for images. */
export function fileUrl(record, name, { thumb = '', token: tok = '', download = false } = {}) {
  const q = {};
  if (thumb) q.thumb = thumb;
  if (tok) q.token = tok;
  if (download) q.download = 1;
  return pb.files.getURL(record, name, q);
}

/** A short label for a file's kind, shown where there is no thumbnail. */
export function fileKind(name) {
  const m = /\.([a-z0-9]{1,5})$/i.exec(name || '');
  return m ? m[1].toUpperCase() : 'FILE';
}

/** Bytes in a friendly unit. */
export function formatBytes(n) {
  if (!n) return '0 B';
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1).replace(/\.0$/, '') + ' KB';
  return (n / 1024 / 1024).toFixed(1).replace(/\.0$/, '') + ' MB';
}
