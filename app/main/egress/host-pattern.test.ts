import { describe, expect, it } from 'vitest';
import { VivError } from '../../shared/errors.js';
import { CompiledPolicy, egressPolicySchema, policyFromAllowFlags } from './egress-policy.js';
import { normalizeHost, parseHostPattern, patternIsExact, patternMatches } from './host-pattern.js';

describe('parseHostPattern', () => {
  it('normalises names, wildcards, ports and IP literals', () => {
    expect(parseHostPattern('API.Example.com.')).toEqual({ text: 'api.example.com', host: 'api.example.com', wildcard: false, port: null });
    expect(parseHostPattern('*.example.org:8443')).toEqual({ text: '*.example.org:8443', host: 'example.org', wildcard: true, port: 8443 });
    expect(parseHostPattern('127.0.0.1:8080')).toMatchObject({ host: '127.0.0.1', port: 8080, wildcard: false });
    expect(parseHostPattern('[2001:DB8::1]:443')).toMatchObject({ text: '[2001:db8::1]:443', host: '2001:db8::1', port: 443 });
    expect(parseHostPattern('bücher.example')).toMatchObject({ host: 'xn--bcher-kva.example' });
  });

  it.each([
    ['', /empty/],
    ['https://api.example.com', /not a URL/],
    ['api.example.com/v1', /without a path/],
    ['user@api.example.com', /without a path, user/],
    ['*', /bare \*/],
    ['*.com', /too broad/],
    ['a.*.example.com', /whole first label/],
    ['*.10.0.0.1', /cannot stand before an IP/],
    ['api.example.com:0', /outside 1-65535/],
    ['api.example.com:70000', /outside 1-65535/],
    ['api.example.com:http', /not a number/],
    ['2001:db8::1', /in brackets/],
    ['bad_host.example', /not a host name/],
    ['-bad.example', /not a host name/],
    ['127.1', /not a host name/],
    ['127.0.0.1', /loopback address, which is reachable only with an explicit port/],
    ['[::1]', /loopback address/],
    ['192.168.1.10', /private address/],
  ])('refuses %j with a clear reason', (input, why) => {
    let err: unknown;
    try {
      parseHostPattern(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VivError);
    expect((err as VivError).code).toBe('invalidArgument');
    expect((err as VivError).message).toMatch(why);
    expect((err as VivError).message).toContain(`"${input}"`);
  });

  it('accepts a public IP literal without a port', () => {
    expect(parseHostPattern('93.184.216.34')).toMatchObject({ port: null });
  });
});

describe('matching', () => {
  it('uses 443 for CONNECT and 80 for HTTP when the pattern names no port', () => {
    const p = parseHostPattern('api.example.com');
    expect(patternMatches(p, 'api.example.com', 443, 'connect')).toBe(true);
    expect(patternMatches(p, 'api.example.com', 80, 'http')).toBe(true);
    expect(patternMatches(p, 'api.example.com', 80, 'connect')).toBe(false);
    expect(patternMatches(p, 'api.example.com', 8443, 'connect')).toBe(false);
    expect(patternMatches(p, 'www.example.com', 443, 'connect')).toBe(false);
  });

  it('matches wildcards below the domain at any depth, not the domain itself or look-alikes', () => {
    const p = parseHostPattern('*.example.org');
    expect(patternMatches(p, 'a.example.org', 443, 'connect')).toBe(true);
    expect(patternMatches(p, 'a.b.example.org', 443, 'connect')).toBe(true);
    expect(patternMatches(p, 'example.org', 443, 'connect')).toBe(false);
    expect(patternMatches(p, 'evilexample.org', 443, 'connect')).toBe(false);
    expect(patternMatches(p, 'example.org.evil.com', 443, 'connect')).toBe(false);
  });

  it('calls a pattern exact only without a wildcard and with the same explicit port', () => {
    expect(patternIsExact(parseHostPattern('localhost:8080'), 'localhost', 8080)).toBe(true);
    expect(patternIsExact(parseHostPattern('localhost'), 'localhost', 80)).toBe(false);
    expect(patternIsExact(parseHostPattern('*.example.org:443'), 'a.example.org', 443)).toBe(false);
    expect(patternIsExact(parseHostPattern('localhost:8080'), 'localhost', 8081)).toBe(false);
  });

  it('normalises requested hosts like patterns, refusing numeric look-alikes', () => {
    expect(normalizeHost('WWW.Example.COM.')).toBe('www.example.com');
    expect(normalizeHost('[::1]')).toBe('::1');
    expect(normalizeHost('0x7f.1')).toBeNull();
    expect(normalizeHost('2130706433')).toBeNull();
    expect(normalizeHost('a b')).toBeNull();
  });
});

describe('CompiledPolicy', () => {
  it('refuses everything when off, naming that as the reason', () => {
    const p = CompiledPolicy.from({ mode: 'off' });
    expect(p.check('api.example.com', 443, 'connect')).toEqual({ allowed: false, networkOff: true, reason: 'network access is off for this workspace' });
  });

  it('allows listed hosts and names what is missing otherwise', () => {
    const p = CompiledPolicy.from({ mode: 'allowlist', hosts: ['api.example.com', '*.example.org:8443', 'localhost:3000'] });
    expect(p.check('api.example.com', 443, 'connect')).toMatchObject({ allowed: true, pattern: { text: 'api.example.com' } });
    expect(p.check('x.example.org', 8443, 'http')).toMatchObject({ allowed: true });
    expect(p.check('x.example.org', 443, 'connect')).toEqual({ allowed: false, networkOff: false, reason: "x.example.org:443 is not in the workspace's allowlist" });
    expect(p.exactlyAllows('localhost', 3000)).toBe(true);
    expect(p.exactlyAllows('api.example.com', 443)).toBe(false);
  });

  it('adds an exact entry for "always" without duplicating it', () => {
    const p = CompiledPolicy.from({ mode: 'allowlist', hosts: [] }).withExact('api.example.com', 443);
    expect(p.toPolicy()).toEqual({ mode: 'allowlist', hosts: ['api.example.com:443'] });
    expect(p.withExact('api.example.com', 443)).toBe(p);
  });

  it('validates stored policies with the pattern error as the message', () => {
    const r = egressPolicySchema.safeParse({ mode: 'allowlist', hosts: ['ok.example.com', 'http://bad'] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/"http:\/\/bad" is not valid: write only the host/);
    expect(() => CompiledPolicy.from({ mode: 'allowlist', hosts: ['*'] })).toThrow(/bare \*/);
    // The error is the pattern's own message (naming it), with the invalidArgument code.
    expect(() => CompiledPolicy.from({ mode: 'allowlist', hosts: ['ok.example.com', 'bad host!'] })).toThrow(
      expect.objectContaining({ code: 'invalidArgument', message: expect.stringMatching(/^The host pattern "bad host!" is not valid/) }),
    );
    expect(egressPolicySchema.safeParse({ mode: 'on' }).success).toBe(false);
  });
});

describe('policyFromAllowFlags', () => {
  it('turns repeated --allow values into a normalised allowlist, or off when none', () => {
    expect(policyFromAllowFlags([])).toEqual({ mode: 'off' });
    expect(policyFromAllowFlags(['API.example.com', 'api.example.com', '127.0.0.1:8080'])).toEqual({ mode: 'allowlist', hosts: ['api.example.com', '127.0.0.1:8080'] });
    expect(() => policyFromAllowFlags(['https://x.example.com'])).toThrow(/"https:\/\/x.example.com" is not valid/);
  });
});
