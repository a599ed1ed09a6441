/**
 * What crosses the gateway in headers. From the guest: every credential-like header is dropped
 * (so a key planted in the workspace never reaches the API and cannot redirect the user's data
 * to another account), and so are hop-by-hop headers, which belong to the guest's connection.
 * From the API: cookies are dropped on the way back.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

// Hop-by-hop (RFC 9110 7.6.1) plus headers the gateway sets itself.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'accept-encoding', 'expect']);

// Any header whose name suggests a credential or an account selector. Errs on dropping: the
// APIs accept requests without them, and a false positive costs a feature, not a leak.
const CREDENTIAL_NAME = /(auth|key|token|secret|cookie|session|credential|password|signature|organi[sz]ation|project|account|x-amz-|x-goog-)/i;

/** True when the guest's header `name` MUST NOT be forwarded upstream. */
export function isDroppedRequestHeader(name: string): boolean {
  const n = name.toLowerCase();
  if (HOP_BY_HOP.has(n) || n.startsWith('proxy-')) return true;
  return CREDENTIAL_NAME.test(n);
}

/**
 * The headers to send upstream: the guest's minus dropped ones, plus `add` (the user's key).
 * Responses are asked for uncompressed so the gateway can read token usage as it streams.
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, add: Record<string, string>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || isDroppedRequestHeader(name)) continue;
    out[name] = value;
  }
  out['accept-encoding'] = 'identity';
  for (const [k, v] of Object.entries(add)) out[k.toLowerCase()] = v;
  return out;
}

/** The upstream response's headers as the guest gets them (no cookies, no hop-by-hop). */
export function guestResponseHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    const n = name.toLowerCase();
    if (value === undefined || n === 'set-cookie' || n === 'set-cookie2' || HOP_BY_HOP.has(n)) continue;
    out[n] = value;
  }
  return out;
}
