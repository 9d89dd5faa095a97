// The dashboard talks to basalt only through its public API, with the official SDK.
import PocketBase, { LocalAuthStore } from 'pocketbase';

export const pb = new PocketBase(window.location.origin, new LocalAuthStore('basalt_admin_auth'));
pb.autoCancellation(false);

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

export const FIELD_TYPES = ['text', 'number', 'bool', 'email', 'url', 'date', 'select', 'json', 'relation', 'editor', 'autodate', 'geoPoint'];
