/**
 * Reaching a destination: the proxy resolves the name itself, checks every address, and then
 * connects to one of the addresses it checked — never to the name, so a second resolution
 * cannot swap in a different address (no DNS-rebinding window).
 */
import { lookup } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';
import { classifyAddress, describeSpecialAddress, type SpecialAddressKind } from './address-class.js';

/** A resolved address. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses (tests inject their own). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

/** The system resolver (getaddrinfo, so /etc/hosts counts), every address, in the system's order. */
export const systemResolver: Resolver = async (host) => {
  const all = await lookup(host, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** The addresses of a destination and the first special one among them, if any. */
export interface CheckedTarget {
  addresses: ResolvedAddress[];
  special: { address: string; kind: SpecialAddressKind; text: string } | null;
}

/**
 * Resolves `host` (an IP literal resolves to itself) and classifies the addresses. A name is
 * judged special if ANY of its addresses is: a name that mixes public and loopback answers is
 * the shape of a rebinding attack, not of a real service.
 */
export async function resolveAndCheck(host: string, resolver: Resolver): Promise<CheckedTarget> {
  const ip = isIP(host);
  const addresses: ResolvedAddress[] = ip ? [{ address: host, family: ip === 6 ? 6 : 4 }] : await resolver(host);
  if (addresses.length === 0) throw new Error(`${host} has no addresses`);
  for (const a of addresses) {
    const kind = classifyAddress(a.address);
    if (kind) return { addresses, special: { address: a.address, kind, text: describeSpecialAddress(a.address, kind) } };
  }
  return { addresses, special: null };
}

/**
 * Connects to the first address that accepts, in order, each attempt bounded by `timeoutMs`.
 * Rejects with the last error when none does. `abort` cancels (the client went away).
 */
export async function dialFirst(addresses: readonly ResolvedAddress[], port: number, timeoutMs: number, abort?: AbortSignal): Promise<Socket> {
  let last: Error = new Error('no address to connect to');
  for (const a of addresses) {
    if (abort?.aborted) throw new Error('the client went away');
    try {
      return await dialOne(a.address, port, timeoutMs, abort);
    } catch (e) {
      last = e as Error;
    }
  }
  throw last;
}

function dialOne(address: string, port: number, timeoutMs: number, abort?: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: address, port, noDelay: true });
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      abort?.removeEventListener('abort', onAbort);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const onConnect = (): void => done(null);
    const onError = (e: Error): void => done(e);
    const onAbort = (): void => done(new Error('the client went away'));
    const timer = setTimeout(() => done(new Error(`connecting to ${address}:${port} took longer than ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    abort?.addEventListener('abort', onAbort, { once: true });
  });
}
