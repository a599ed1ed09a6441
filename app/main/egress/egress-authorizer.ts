/**
 * Deciding one egress request (DESIGN.md "Network egress"), apart from moving its bytes: the
 * workspace policy by name and port, then — only for a request the policy or the user allowed —
 * name resolution and the SSRF rule on every resolved address, with a prompt to the user where
 * a request is blocked. Contracts:
 * - A blocked name is never resolved, so it never leaves the host as a DNS query.
 * - A special address (loopback, private, link-local...) is reachable only through a pattern
 *   naming exactly that host:port, or the user's explicit allowance of this host:port.
 * - The caller MUST connect only to the addresses returned (they are the ones checked).
 */
import { EventEmitter } from 'node:events';
import { DecisionGate, type EgressPrompt, type PromptAnswer, type PromptOutcome } from './decision-gate.js';
import { CompiledPolicy, type EgressPolicy } from './egress-policy.js';
import { formatHostPort, type RequestKind } from './host-pattern.js';
import { resolveAndCheck, systemResolver, type ResolvedAddress, type Resolver } from './upstream.js';

/** One request to decide. `host` is normalised (see normalizeHost). */
export interface EgressTarget {
  host: string;
  port: number;
  kind: RequestKind;
  /** The HTTP method for plain HTTP; null for CONNECT. */
  method: string | null;
  taskId: string | null;
}

/** The decision: go ahead with these addresses, blocked, or allowed but unreachable. */
export type Authorization =
  | { outcome: 'allowed'; addresses: ResolvedAddress[]; reason: string }
  | { outcome: 'blocked'; decision: 'blocked-by-policy' | 'blocked-private-address'; reason: string }
  | { outcome: 'failed'; reason: string; error: string };

/** Options of the authorizer. */
export interface AuthorizerOptions {
  workspaceId: string;
  policy: EgressPolicy;
  resolver?: Resolver;
  decisionTimeoutMs: number;
  maxPendingPrompts: number;
  /** Whether anyone can answer a prompt now. */
  canAsk: () => boolean;
}

/** Events: prompts for the UI, and the policy after "allow always" changed it. */
export interface AuthorizerEvents {
  prompt: [EgressPrompt];
  promptSettled: [string, PromptOutcome];
  policy: [EgressPolicy];
}

/** Decides requests for one workspace. */
export class EgressAuthorizer extends EventEmitter<AuthorizerEvents> {
  private compiled: CompiledPolicy;
  private readonly resolver: Resolver;
  private readonly gate: DecisionGate;

  constructor(private readonly opts: AuthorizerOptions) {
    super();
    this.compiled = CompiledPolicy.from(opts.policy);
    this.resolver = opts.resolver ?? systemResolver;
    this.gate = new DecisionGate({ timeoutMs: opts.decisionTimeoutMs, maxPending: opts.maxPendingPrompts, canAsk: opts.canAsk });
    this.gate.on('prompt', (p) => this.emit('prompt', p));
    this.gate.on('settled', (id, o) => this.emit('promptSettled', id, o));
  }

  /** The policy in force (normalised). */
  get policy(): EgressPolicy {
    return this.compiled.toPolicy();
  }

  /** Replaces the policy (validated; throws an invalidArgument VivError on a bad pattern). */
  setPolicy(policy: EgressPolicy): void {
    this.compiled = CompiledPolicy.from(policy);
  }

  /** The requests waiting for the user now. */
  prompts(): EgressPrompt[] {
    return this.gate.list();
  }

  /** Answers a prompt; false when it no longer waits. */
  answer(promptId: string, answer: PromptAnswer): boolean {
    return this.gate.answer(promptId, answer);
  }

  /** Refuses every waiting and later prompt. */
  close(): void {
    this.gate.close();
  }

  /** Decides one request: policy, then (only if allowed) resolution and the SSRF rule. */
  async authorize(t: EgressTarget, abort: AbortSignal): Promise<Authorization> {
    const where = formatHostPort(t.host, t.port);
    const verdict = this.compiled.check(t.host, t.port, t.kind);
    let userAllowed = false;
    let reason: string;
    if (verdict.allowed) {
      reason = `matches ${verdict.pattern.text}`;
    } else {
      if (verdict.networkOff) return { outcome: 'blocked', decision: 'blocked-by-policy', reason: verdict.reason };
      const answer = await this.askUser(t, 'blocked-by-policy', verdict.reason, abort);
      if (answer.denied) return { outcome: 'blocked', decision: 'blocked-by-policy', reason: `${verdict.reason}; ${answer.text}` };
      userAllowed = true;
      reason = answer.text;
    }
    let checked;
    try {
      checked = await resolveAndCheck(t.host, this.resolver);
    } catch (e) {
      return { outcome: 'failed', reason, error: `${t.host} could not be resolved (${(e as Error).message})` };
    }
    if (checked.special && !userAllowed && !this.compiled.exactlyAllows(t.host, t.port)) {
      const why = `${t.host === checked.special.address ? checked.special.text : `${t.host} resolves to ${checked.special.address}, ${checked.special.kind}`}; only an exact ${where} entry may reach it`;
      const answer = await this.askUser(t, 'blocked-private-address', why, abort);
      if (answer.denied) return { outcome: 'blocked', decision: 'blocked-private-address', reason: `${why}; ${answer.text}` };
      reason = answer.text;
    }
    return { outcome: 'allowed', addresses: checked.addresses, reason };
  }

  private async askUser(t: EgressTarget, blockedAs: EgressPrompt['blockedAs'], why: string, abort: AbortSignal): Promise<{ denied: boolean; text: string }> {
    const outcome = await this.gate.ask({ workspaceId: this.opts.workspaceId, taskId: t.taskId, host: t.host, port: t.port, kind: t.kind, method: t.method, blockedAs, reason: why }, abort);
    switch (outcome) {
      case 'once':
        return { denied: false, text: 'allowed once by the user' };
      case 'always':
        this.grantAlways(t.host, t.port);
        return { denied: false, text: 'allowed always for this workspace by the user' };
      case 'deny':
        return { denied: true, text: 'denied by the user' };
      case 'timeout':
        return { denied: true, text: `no answer within ${formatDuration(this.opts.decisionTimeoutMs)}` };
      case 'too-many':
        return { denied: true, text: 'too many requests are already waiting for an answer' };
      case 'unanswerable':
        return { denied: true, text: 'nobody is there to ask' };
      case 'closed':
        return { denied: true, text: 'the request or the proxy closed while waiting' };
    }
  }

  private grantAlways(host: string, port: number): void {
    const next = this.compiled.withExact(host, port);
    if (next === this.compiled) return;
    this.compiled = next;
    this.emit('policy', next.toPolicy());
    // The new entry covers other requests waiting on the same host:port.
    this.gate.answerWhere((p) => p.host === host && p.port === port, 'always');
  }
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
