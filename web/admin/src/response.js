// What the SDK hands back is checked here before a panel uses it.

/**
 * True when a successful answer's body was lost on the way. The SDK (0.28) reads a body it could
 * not finish — the page navigating away mid-download, a dropped connection — as {} and returns it
 * as the answer; a panel would then render a settings object without its sections. basalt always
 * sends Content-Length, so an empty object that was announced as longer than "{}" is a cut-off body.
 */
export function bodyLost(response, data) {
  if (response.status >= 400 || response.status === 204) return false;
  if (!data || typeof data !== 'object' || Array.isArray(data) || Object.keys(data).length) return false;
  const length = Number(response.headers.get('content-length'));
  return Number.isFinite(length) && length > 2;
}
