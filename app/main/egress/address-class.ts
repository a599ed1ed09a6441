/**
 * Classifies IP addresses for the egress proxy's SSRF guard: which addresses are "special"
 * (loopback, private, link-local, unique-local, multicast, unspecified, reserved) and so MUST
 * NOT be reached through an allowed name. IPv6 forms that embed an IPv4 address (v4-mapped,
 * v4-compatible, NAT64, 6to4) are judged by the embedded IPv4 address, so `::ffff:127.0.0.1`
 * is loopback like `127.0.0.1`.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Why an address is not public. `null` from `classifyAddress` means public. */
export type SpecialAddressKind =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'unique-local'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

interface V4Range {
  base: number;
  bits: number;
  kind: SpecialAddressKind;
}

// IANA IPv4 special-purpose registry, the ranges that are not globally reachable.
const V4_RANGES: readonly V4Range[] = [
  { base: v4('0.0.0.0'), bits: 8, kind: 'unspecified' },
  { base: v4('10.0.0.0'), bits: 8, kind: 'private' },
  { base: v4('100.64.0.0'), bits: 10, kind: 'shared' },
  { base: v4('127.0.0.0'), bits: 8, kind: 'loopback' },
  { base: v4('169.254.0.0'), bits: 16, kind: 'link-local' },
  { base: v4('172.16.0.0'), bits: 12, kind: 'private' },
  { base: v4('192.0.0.0'), bits: 24, kind: 'reserved' },
  { base: v4('192.0.2.0'), bits: 24, kind: 'reserved' },
  { base: v4('192.168.0.0'), bits: 16, kind: 'private' },
  { base: v4('198.18.0.0'), bits: 15, kind: 'reserved' },
  { base: v4('198.51.100.0'), bits: 24, kind: 'reserved' },
  { base: v4('203.0.113.0'), bits: 24, kind: 'reserved' },
  { base: v4('224.0.0.0'), bits: 4, kind: 'multicast' },
  { base: v4('255.255.255.255'), bits: 32, kind: 'broadcast' },
  { base: v4('240.0.0.0'), bits: 4, kind: 'reserved' },
];

function v4(text: string): number {
  const parts = text.split('.').map(Number);
  return (((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0);
}

function classifyV4(n: number): SpecialAddressKind | null {
  for (const r of V4_RANGES) {
    const mask = r.bits === 0 ? 0 : (~0 << (32 - r.bits)) >>> 0;
    if (((n & mask) >>> 0) === ((r.base & mask) >>> 0)) return r.kind;
  }
  return null;
}

/** Parses a textual IPv6 address (as `net.isIPv6` accepts it, zone id allowed) into 8 groups. */
export function parseIPv6(text: string): number[] {
  const noZone = text.split('%')[0]!;
  let head = noZone;
  const tailGroups: number[] = [];
  // A trailing dotted IPv4 part stands for the last two groups.
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(noZone);
  if (dotted) {
    const n = v4(dotted[1]!);
    tailGroups.push(n >>> 16, n & 0xffff);
    head = noZone.slice(0, noZone.length - dotted[1]!.length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const toGroups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  const gap = head.indexOf('::');
  if (gap >= 0) {
    const left = toGroups(head.slice(0, gap));
    const right = [...toGroups(head.slice(gap + 2)), ...tailGroups];
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    groups = [...toGroups(head), ...tailGroups];
  }
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) {
    throw new Error(`"${text}" is not an IPv6 address`);
  }
  return groups;
}

function classifyV6(g: number[]): SpecialAddressKind | null {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const embeddedV4 = ((g6 << 16) | g7) >>> 0;
  const zeroFirst5 = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroFirst5 && g5 === 0 && g6 === 0) {
    if (g7 === 0) return 'unspecified';
    if (g7 === 1) return 'loopback';
  }
  // ::ffff:a.b.c.d (v4-mapped) and ::a.b.c.d (deprecated v4-compatible): the socket reaches the v4 address.
  if (zeroFirst5 && (g5 === 0xffff || g5 === 0)) return classifyV4(embeddedV4);
  // 64:ff9b::/96 (NAT64 well-known prefix) translates to the embedded v4 address.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return classifyV4(embeddedV4);
  // 2002::/16 (6to4) embeds a v4 address in groups 1-2.
  if (g0 === 0x2002) {
    const k = classifyV4(((g1 << 16) | g2) >>> 0);
    if (k) return k;
  }
  if ((g0 & 0xfe00) === 0xfc00) return 'unique-local';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xffc0) === 0xfec0) return 'private'; // deprecated site-local
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return 'reserved'; // discard-only 100::/64
  if (g0 === 0x2001 && g1 === 0xdb8) return 'reserved'; // documentation
  return null;
}

/**
 * The special kind of an IP address, or null when it is public. Throws for text that is not an
 * IP address (callers pass only resolver output or validated literals).
 */
export function classifyAddress(address: string): SpecialAddressKind | null {
  if (isIPv4(address)) return classifyV4(v4(address));
  if (isIPv6(address)) return classifyV6(parseIPv6(address));
  throw new Error(`"${address}" is not an IP address`);
}

/** Words for the audit log and the prompt: "127.0.0.1 is a loopback address". */
export function describeSpecialAddress(address: string, kind: SpecialAddressKind): string {
  const article = /^[aeiu]/.test(kind) ? 'an' : 'a';
  return `${address} is ${article} ${kind} address`;
}
