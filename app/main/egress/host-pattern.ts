/**
 * Host patterns of a workspace's egress allowlist: `api.example.com`, `*.example.org`,
 * `10.0.0.5:8080`, `[2001:db8::1]:443`, each with an optional `:port`. A pattern without a port
 * means the usual port of the request kind: 443 for CONNECT tunnels, 80 for plain HTTP.
 * `*.example.org` matches every name below example.org (any depth) but not example.org itself.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { z } from 'zod';
import { VivError } from '../../shared/errors.js';
import { classifyAddress, describeSpecialAddress } from './address-class.js';

/** How the guest asked: a CONNECT tunnel (TLS, default port 443) or plain HTTP (default 80). */
export type RequestKind = 'connect' | 'http';

/** The usual port of a request kind, used when a pattern names none. */
export function defaultPort(kind: RequestKind): number {
  return kind === 'connect' ? 443 : 80;
}

/** A parsed pattern. `host` is lower-case ASCII (IDN as punycode), IPv6 without brackets. */
export interface HostPattern {
  /** The pattern as the user should see it again (normalised). */
  readonly text: string;
  readonly host: string;
  /** True for `*.suffix`: `host` then holds the suffix. */
  readonly wildcard: boolean;
  /** The explicit port, or null for "the usual port of the request kind". */
  readonly port: number | null;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Normalises a host name or IP literal the way patterns and requests are compared: lower case,
 * no trailing dot, IDN to punycode, IPv6 without brackets. Returns null for text that is
 * neither a valid DNS name nor an IP literal.
 */
export function normalizeHost(raw: string): string | null {
  let host = raw.trim();
  if (host.startsWith('[') && host.endsWith(']')) {
    const inner = host.slice(1, -1);
    return isIP(inner) === 6 ? inner.toLowerCase() : null;
  }
  if (isIP(host) === 6) return host.toLowerCase();
  if (isIP(host) === 4) return host;
  if (host.endsWith('.')) host = host.slice(0, -1);
  const ascii = domainToASCII(host);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (!labels.every((l) => LABEL.test(l))) return null;
  // A name whose last label is a number (999.1.1.1, 127.1, 0x7f.0x1) is refused, as the URL
  // standard does: resolvers read such text as an IPv4 address in surprising ways.
  if (/^(0x[0-9a-f]*|[0-9]+)$/.test(labels.at(-1)!)) return null;
  return ascii;
}

function fail(pattern: string, why: string): never {
  throw new VivError('invalidArgument', `The host pattern "${pattern}" is not valid: ${why}.`);
}

/** Parses one pattern, throwing an invalidArgument VivError that says what is wrong. */
export function parseHostPattern(input: string): HostPattern {
  const text = input.trim();
  if (text === '') fail(input, 'it is empty');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) fail(input, 'write only the host (and optionally :port), not a URL');
  if (/[/?#@\s]/.test(text)) fail(input, 'write only the host (and optionally :port), without a path, user or spaces');
  let hostPart = text;
  let port: number | null = null;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    hostPart = `[${bracketed[1]}]`;
    if (bracketed[2] !== undefined) port = parsePort(input, bracketed[2]);
  } else if (isIP(text) === 6) {
    fail(input, 'write an IPv6 address in brackets, e.g. [2001:db8::1]:443');
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0) {
      hostPart = text.slice(0, colon);
      port = parsePort(input, text.slice(colon + 1));
    }
  }
  const wildcard = hostPart.startsWith('*.');
  if (hostPart === '*') fail(input, 'a bare * would allow every host; list the hosts instead');
  const body = wildcard ? hostPart.slice(2) : hostPart;
  if (body.includes('*')) fail(input, 'a * is allowed only as the whole first label, as in *.example.org');
  const host = normalizeHost(body);
  if (host === null) fail(input, `"${body}" is not a host name or IP address`);
  const ip = isIP(host);
  if (wildcard && ip) fail(input, 'a wildcard cannot stand before an IP address');
  if (wildcard && !host.includes('.')) fail(input, `*.${host} is too broad; name a domain such as *.example.${host}`);
  if (ip && port === null) {
    const kind = classifyAddress(host);
    // Special addresses are reachable only as an exact host:port (the SSRF rule), so say so now.
    if (kind) fail(input, `${describeSpecialAddress(host, kind)}, which is reachable only with an explicit port, e.g. ${formatHostPort(host, 8080)}`);
  }
  const shown = `${wildcard ? '*.' : ''}${ip === 6 ? `[${host}]` : host}${port === null ? '' : `:${port}`}`;
  return { text: shown, host, wildcard, port };
}

function parsePort(pattern: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) fail(pattern, `the port "${text}" is not a number`);
  const n = Number(text);
  if (n < 1 || n > 65535) fail(pattern, `the port ${n} is outside 1-65535`);
  return n;
}

/** `host:port`, with brackets around IPv6 literals. */
export function formatHostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** True when the pattern allows `host` (already normalised) on `port` for this request kind. */
export function patternMatches(p: HostPattern, host: string, port: number, kind: RequestKind): boolean {
  if (port !== (p.port ?? defaultPort(kind))) return false;
  return p.wildcard ? host.endsWith(`.${p.host}`) : host === p.host;
}

/**
 * True when the pattern names exactly this host and port: no wildcard, an explicit port. Only
 * such a pattern lets a name reach a special (loopback, private...) address.
 */
export function patternIsExact(p: HostPattern, host: string, port: number): boolean {
  return !p.wildcard && p.port === port && p.host === host;
}

/** zod schema of one pattern string; the refinement carries parseHostPattern's message. */
export const hostPatternSchema = z.string().superRefine((s, ctx) => {
  try {
    parseHostPattern(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

/** Parses a list of patterns, dropping duplicates (by normalised text). Throws on the first bad one. */
export function parseHostPatterns(list: readonly string[]): HostPattern[] {
  const seen = new Map<string, HostPattern>();
  for (const s of list) {
    const p = parseHostPattern(s);
    if (!seen.has(p.text)) seen.set(p.text, p);
  }
  return [...seen.values()];
}
