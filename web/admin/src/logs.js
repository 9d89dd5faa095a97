// The Logs page's pure helpers: the filter it sends and the chart's series.

/** PocketBase's (Go slog's) level numbers and the names the page shows. */
export const LEVELS = [
  { value: -4, name: 'DEBUG' },
  { value: 0, name: 'INFO' },
  { value: 4, name: 'WARN' },
  { value: 8, name: 'ERROR' },
];

export function levelName(n) {
  return LEVELS.find((l) => l.value === n)?.name ?? String(n);
}

// Text with none of these is a plain search rather than a filter expression.
const OPERATORS = /[=~<>!&|()]/;

/**
 * The filter for GET /api/logs and /api/logs/stats: the filter bar's text (a plain word searches
 * the message and the request URL), the level (''  for all), and whether the dashboard's own
 * (superuser) requests are included.
 */
export function logsFilter(text, level, withSuperusers) {
  const parts = [];
  const t = (text || '').trim();
  if (t) {
    const quoted = '"' + t.replace(/"/g, '\\"') + '"';
    parts.push(OPERATORS.test(t) ? t : `message ~ ${quoted} || data.url ~ ${quoted}`);
  }
  if (level !== '' && level !== null && level !== undefined) parts.push('level = ' + Number(level));
  if (!withSuperusers) parts.push('data.auth != "_superusers"');
  return parts.length > 1 ? parts.map((p) => '(' + p + ')').join(' && ') : parts[0] || '';
}

const HOUR = 3600;
const MAX_HOURS = 24 * 400;

/**
 * uPlot's data ([seconds], [totals]) from getStats' [{date, total}] (hours with entries, oldest
 * first): hours without entries count 0, from the hour before the first to the current hour.
 */
export function hourlySeries(stats, now = Date.now()) {
  const counts = new Map();
  for (const s of stats) counts.set(Date.parse(s.date.replace(' ', 'T')) / 1000, s.total);
  const current = Math.floor(now / 1000 / HOUR) * HOUR;
  const keys = [...counts.keys()];
  const first = keys.length ? Math.min(...keys) : current;
  let start = Math.min(first, current) - HOUR;
  const end = Math.max(current, ...keys);
  if ((end - start) / HOUR > MAX_HOURS) start = end - MAX_HOURS * HOUR;
  const xs = [];
  const ys = [];
  for (let t = start; t <= end; t += HOUR) {
    xs.push(t);
    ys.push(counts.get(t) || 0);
  }
  return [xs, ys];
}
