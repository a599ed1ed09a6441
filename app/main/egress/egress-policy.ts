/**
 * A workspace's egress policy (DESIGN.md "Network egress"): off (the default: every request is
 * refused) or an allowlist of host patterns. The policy decides by name and port only; the SSRF
 * rule on resolved addresses is applied afterwards by the proxy, using `exactlyAllows`.
 */
import { z } from 'zod';
import { VivError } from '../../shared/errors.js';
import {
  formatHostPort,
  hostPatternSchema,
  parseHostPattern,
  parseHostPatterns,
  patternIsExact,
  patternMatches,
  type HostPattern,
  type RequestKind,
} from './host-pattern.js';

/** The stored shape of a workspace's policy (the core keeps it in state.json). */
export const egressPolicySchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('off') }),
  z.object({ mode: z.literal('allowlist'), hosts: z.array(hostPatternSchema).max(1000) }),
]);
export type EgressPolicy = z.infer<typeof egressPolicySchema>;

/** The default: no network. */
export const NETWORK_OFF: EgressPolicy = { mode: 'off' };

/**
 * The policy for `viv run --allow HOST[:PORT]` (repeatable): an allowlist of exactly those
 * patterns, or off when none is given. Throws an invalidArgument VivError naming a bad one.
 */
export function policyFromAllowFlags(allow: readonly string[]): EgressPolicy {
  if (allow.length === 0) return NETWORK_OFF;
  return { mode: 'allowlist', hosts: parseHostPatterns(allow).map((p) => p.text) };
}

/** What a request ended as. `awaiting-user` is transient: the request waits for the prompt. */
export type EgressDecision = 'allowed' | 'blocked-by-policy' | 'blocked-private-address' | 'awaiting-user';

/** The outcome of the name check. */
export type PolicyVerdict =
  | { allowed: true; pattern: HostPattern }
  | { allowed: false; networkOff: boolean; reason: string };

/** A validated policy, ready to match requests. Immutable: changes make a new one. */
export class CompiledPolicy {
  readonly patterns: readonly HostPattern[];

  private constructor(readonly mode: 'off' | 'allowlist', patterns: HostPattern[]) {
    this.patterns = patterns;
  }

  /** Validates and compiles; throws an invalidArgument VivError naming the bad pattern. */
  static from(policy: EgressPolicy): CompiledPolicy {
    const result = egressPolicySchema.safeParse(policy);
    if (!result.success) {
      // The first problem, in words (each pattern's message names it), not zod's JSON.
      const issue = result.error.issues[0]!;
      throw new VivError('invalidArgument', issue.message, result.error.issues);
    }
    const parsed = result.data;
    return new CompiledPolicy(parsed.mode, parsed.mode === 'allowlist' ? parseHostPatterns(parsed.hosts) : []);
  }

  /** The stored shape again (normalised pattern texts). */
  toPolicy(): EgressPolicy {
    return this.mode === 'off' ? { mode: 'off' } : { mode: 'allowlist', hosts: this.patterns.map((p) => p.text) };
  }

  /** Checks a request's host (normalised) and port against the allowlist. */
  check(host: string, port: number, kind: RequestKind): PolicyVerdict {
    if (this.mode === 'off') {
      return { allowed: false, networkOff: true, reason: 'network access is off for this workspace' };
    }
    const pattern = this.patterns.find((p) => patternMatches(p, host, port, kind));
    if (pattern) return { allowed: true, pattern };
    return { allowed: false, networkOff: false, reason: `${formatHostPort(host, port)} is not in the workspace's allowlist` };
  }

  /** True when a pattern names exactly this host and port (needed to reach special addresses). */
  exactlyAllows(host: string, port: number): boolean {
    return this.mode === 'allowlist' && this.patterns.some((p) => patternIsExact(p, host, port));
  }

  /** A new policy with `host:port` added exactly (what "allow always" grants). Turns "off" into an allowlist. */
  withExact(host: string, port: number): CompiledPolicy {
    const added = parseHostPattern(formatHostPort(host, port));
    if (this.patterns.some((p) => p.text === added.text)) return this;
    return new CompiledPolicy('allowlist', [...this.patterns, added]);
  }
}
