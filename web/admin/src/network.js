// The network panel's pure helpers: settings.trustedProxy and settings.superuserIPs, their checks
// (the server makes them again) and whether a superuserIPs list would shut out this browser.
import { allowedBy, validateIpList } from './ip.js';

/** Headers common proxies and CDNs set to the client's address: the quick-add chips. */
export const PROXY_HEADERS = ['X-Forwarded-For', 'X-Real-IP', 'CF-Connecting-IP', 'Fly-Client-IP'];

// An HTTP header name (RFC 9110 token).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The panel's editable part of the settings: {trustedProxy: {headers, useLeftmostIP, proxies}, superuserIPs}. */
export function networkOf(settings) {
  const tp = settings?.trustedProxy || {};
  return {
    trustedProxy: {
      headers: [...(tp.headers || [])],
      useLeftmostIP: !!tp.useLeftmostIP,
      proxies: [...(tp.proxies || [])],
    },
    superuserIPs: [...(settings?.superuserIPs || [])],
  };
}

/** The patch sent: entries trimmed, in their places (so the server's errors line up with the rows). */
export function normalizeNetwork(n) {
  const trim = (list) => (list || []).map((e) => (typeof e === 'string' ? e.trim() : e));
  return {
    trustedProxy: { headers: trim(n.trustedProxy.headers), useLeftmostIP: !!n.trustedProxy.useLeftmostIP, proxies: trim(n.trustedProxy.proxies) },
    superuserIPs: trim(n.superuserIPs),
  };
}

/** Client-side errors, keyed like the server's (`trustedProxy.headers.0`, `superuserIPs.2`). */
export function validateNetwork(n) {
  const errors = {};
  (n.trustedProxy.headers || []).forEach((h, i) => {
    const text = typeof h === 'string' ? h.trim() : '';
    if (!text) errors[`trustedProxy.headers.${i}`] = 'Cannot be blank.';
    else if (!TOKEN.test(text)) errors[`trustedProxy.headers.${i}`] = 'Not a header name.';
  });
  Object.assign(errors, validateIpList(n.trustedProxy.proxies, 'trustedProxy.proxies'));
  Object.assign(errors, validateIpList(n.superuserIPs, 'superuserIPs'));
  return errors;
}

/** `list` with `header` added unless it is there already (header names ignore case). */
export function addHeader(list, header) {
  return (list || []).some((h) => String(h).trim().toLowerCase() === header.toLowerCase()) ? list : [...(list || []), header];
}

/**
 * Whether saving `next` (superuserIPs) would lock out a browser the server sees as `realIP` (from
 * GET /api/health; '' when unknown): the list is not empty and does not hold the address. An
 * unknown address counts as outside, so the panel asks rather than guesses.
 */
export function locksOut(next, realIP) {
  return !allowedBy(next, realIP);
}
