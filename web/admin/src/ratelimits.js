// The rate-limits panel's pure helpers: audiences, PocketBase's default rules, label checks and
// the validation the server does again (src/settings/settings_store.cpp, ValidateRateLimits).
import { validateIpList } from './ip.js';

export const AUDIENCES = [
  { value: '', name: 'All clients' },
  { value: '@guest', name: 'Guests only' },
  { value: '@auth', name: 'Authenticated only' },
];

/**
 * PocketBase's default rules, the ones the server writes on a fresh install (SettingsStore's
 * Defaults() in src/settings/settings_store.cpp; tests/e2e/network_settings.test.mjs checks they
 * still agree).
 */
export const DEFAULT_RULES = Object.freeze([
  { label: '*:auth', audience: '', duration: 3, maxRequests: 2 },
  { label: '*:create', audience: '', duration: 5, maxRequests: 20 },
  { label: '/api/batch', audience: '', duration: 1, maxRequests: 3 },
  { label: '/api/', audience: '', duration: 10, maxRequests: 300 },
]);

export const defaultRules = () => DEFAULT_RULES.map((r) => ({ ...r }));

export const newRule = () => ({ label: '', audience: '', duration: 60, maxRequests: 100 });

const WORD = /^\w+$/; // ASCII letters, digits and '_', as Go's \w
const PATH = /^\/[\w/-]*$/;

/**
 * Whether `label` has one of the forms PocketBase accepts: `/api/path`, `/api/prefix/`,
 * `METHOD /api/path`, `collection:tag`, `*:tag`, or a plain tag.
 */
export function validLabel(label) {
  if (typeof label !== 'string' || label === '') return false;
  if (PATH.test(label)) return true;
  const space = label.indexOf(' ');
  if (space >= 0) return WORD.test(label.slice(0, space)) && PATH.test(label.slice(space + 1));
  const colon = label.indexOf(':');
  if (colon >= 0) {
    const left = label.slice(0, colon);
    return (left === '*' || WORD.test(left)) && WORD.test(label.slice(colon + 1));
  }
  return WORD.test(label);
}

/** What kind of label this is, in the words of the help text (for the table's hint column). */
export function labelKind(label) {
  if (!validLabel(label)) return '';
  if (label.startsWith('*:')) return 'wildcard tag';
  if (label.includes(':')) return 'collection tag';
  const method = label.includes(' ');
  const path = method ? label.slice(label.indexOf(' ') + 1) : label;
  if (!path.startsWith('/')) return 'tag';
  const kind = path.endsWith('/') ? 'path prefix' : 'exact path';
  return method ? 'method + ' + kind : kind;
}

/** A positive whole number, as the server wants duration and maxRequests. */
export const isPositiveInt = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;

/**
 * Client-side errors for settings.rateLimits, keyed like the server's (`rateLimits.rules.0.label`)
 * so one map serves both. Duplicate labels (per audience) are left to the server, which owns the
 * rule on what conflicts.
 */
export function validateRateLimits(rl) {
  const errors = {};
  const rules = rl?.rules || [];
  if (rl?.enabled && !rules.length) errors['rateLimits.rules'] = 'Add at least one rule, or turn rate limiting off.';
  rules.forEach((r, i) => {
    const at = `rateLimits.rules.${i}.`;
    const label = typeof r.label === 'string' ? r.label.trim() : '';
    if (!label) errors[at + 'label'] = 'Cannot be blank.';
    else if (!validLabel(label)) errors[at + 'label'] = 'Invalid label: see the forms below.';
    if (!AUDIENCES.some((a) => a.value === r.audience)) errors[at + 'audience'] = 'Must be a valid value.';
    for (const key of ['duration', 'maxRequests']) {
      const v = r[key];
      if (v === null || v === undefined || v === '') errors[at + key] = 'Cannot be blank.';
      else if (!isPositiveInt(v)) errors[at + key] = 'Must be a whole number, at least 1.';
    }
  });
  Object.assign(errors, validateIpList(rl?.excludedIPs, 'rateLimits.excludedIPs'));
  return errors;
}

/** The section as it is sent: labels and IPs trimmed (entries keep their places, so the server's errors line up). */
export function normalizeRateLimits(rl) {
  return {
    enabled: !!rl.enabled,
    excludedIPs: (rl.excludedIPs || []).map((ip) => String(ip).trim()),
    rules: (rl.rules || []).map((r) => ({
      label: typeof r.label === 'string' ? r.label.trim() : r.label,
      audience: r.audience ?? '',
      duration: r.duration,
      maxRequests: r.maxRequests,
    })),
  };
}

/** A copy of a settings section to compare against later (dirty tracking). */
export const snapshot = (value) => JSON.stringify(value ?? null);

/** Whether `value` differs from what `snapshot()` took. */
export const isDirty = (value, snap) => snapshot(value) !== snap;
