// IP addresses and CIDR networks, read as the server reads them (src/core/ip.cpp): an address is
// 16 bytes, IPv4 as ::ffff:a.b.c.d, so "10.0.0.0/8" covers ::ffff:10.0.0.0/104 and an IPv4 client
// seen as ::ffff:10.1.2.3 is inside it.

const V4_PART = /^(0|[1-9][0-9]{0,2})$/; // inet_pton: decimal, no leading zeros

function parseV4(text) {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = [];
  for (const p of parts) {
    if (!V4_PART.test(p) || Number(p) > 255) return null;
    out.push(Number(p));
  }
  return out;
}

function parseV6(text) {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const bytes = [];
  const push = (list, last) => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (last && i === list.length - 1 && g.includes('.')) {
        const v4 = parseV4(g);
        if (!v4) return false;
        bytes.push(...v4);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
        const n = parseInt(g, 16);
        bytes.push(n >> 8, n & 0xff);
      }
    }
    return true;
  };
  if (!push(head, halves.length === 1)) return null;
  const headBytes = bytes.length;
  if (!push(tail, true)) return null;
  const tailBytes = bytes.slice(headBytes);
  if (halves.length === 1) return bytes.length === 16 ? bytes : null;
  const gap = 16 - headBytes - tailBytes.length;
  if (gap < 2) return null; // "::" stands for at least one group of zeros
  return [...bytes.slice(0, headBytes), ...new Array(gap).fill(0), ...tailBytes];
}

const MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** An address ("127.0.0.1", "::1", no brackets or zone) as {bytes: number[16], v4}; null when it is not one. */
export function parseIp(text) {
  if (typeof text !== 'string' || !text || text.length > 64) return null;
  const v4 = parseV4(text);
  if (v4) return { bytes: [...MAPPED, ...v4], v4: true };
  const v6 = parseV6(text);
  if (!v6) return null;
  return { bytes: v6, v4: MAPPED.every((b, i) => v6[i] === b) };
}

/** An address or CIDR network as {base, prefix} (prefix in bits of the 16-byte form); null when invalid. */
export function parseNetwork(text) {
  if (typeof text !== 'string') return null;
  const slash = text.indexOf('/');
  const base = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!base) return null;
  if (slash < 0) return { base, prefix: 128 };
  const bits = text.slice(slash + 1);
  const max = base.v4 ? 32 : 128;
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > max) return null;
  return { base, prefix: base.v4 ? Number(bits) + 96 : Number(bits) };
}

export const isIpOrNetwork = (text) => parseNetwork(text) !== null;

/** Whether `network` (from parseNetwork) holds `ip` (from parseIp). */
export function contains(network, ip) {
  let left = network.prefix;
  for (let i = 0; i < 16 && left > 0; i++, left -= 8) {
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    if ((network.base.bytes[i] & mask) !== (ip.bytes[i] & mask)) return false;
  }
  return true;
}

/**
 * Whether a client at `ip` (text) may act as a superuser under `list` (settings.superuserIPs):
 * an empty list allows everyone; otherwise some entry must hold the address. Invalid entries hold
 * nothing; an unknown or invalid client address is in no non-empty list.
 */
export function allowedBy(list, ip) {
  const entries = (list || []).filter((e) => typeof e === 'string' && e.trim() !== '');
  if (!entries.length) return true;
  const addr = parseIp(ip || '');
  if (!addr) return false;
  return entries.some((e) => {
    const n = parseNetwork(e.trim());
    return n !== null && contains(n, addr);
  });
}

/** Errors for a list of IPs/CIDRs (blank entries included), keyed `${prefix}.${index}` as the server's. */
export function validateIpList(list, prefix) {
  const errors = {};
  (list || []).forEach((e, i) => {
    const text = typeof e === 'string' ? e.trim() : '';
    if (!text) errors[`${prefix}.${i}`] = 'Cannot be blank.';
    else if (!isIpOrNetwork(text)) errors[`${prefix}.${i}`] = 'Must be an IP address or a CIDR network (like 10.0.0.0/8).';
  });
  return errors;
}
