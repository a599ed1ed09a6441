/**
 * Prompts for blocked requests: a blocked request raises a `prompt` event and waits, bounded in
 * time and in number, for the user's answer — allow once, allow always for the workspace, or
 * deny. Each prompt belongs to exactly one request, so "allow once" lets exactly that request
 * through. With nobody listening for prompts (the headless CLI) a request is refused at once.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RequestKind } from './host-pattern.js';

/** The user's answer to a prompt. */
export type PromptAnswer = 'once' | 'always' | 'deny';

/** How a wait ended: an answer, or why there was none. */
export type PromptOutcome = PromptAnswer | 'timeout' | 'unanswerable' | 'too-many' | 'closed';

/** What the UI shows: who asked for what, and why it was blocked. */
export interface EgressPrompt {
  readonly id: string;
  readonly workspaceId: string;
  readonly taskId: string | null;
  readonly host: string;
  readonly port: number;
  readonly kind: RequestKind;
  /** The HTTP method for plain HTTP; null for CONNECT tunnels. */
  readonly method: string | null;
  readonly blockedAs: 'blocked-by-policy' | 'blocked-private-address';
  readonly reason: string;
  readonly createdAt: number;
  /** After this moment (ms since epoch) the request is refused. */
  readonly expiresAt: number;
}

/** Limits of the gate. */
export interface GateOptions {
  /** How long a request waits for an answer. */
  timeoutMs: number;
  /** At most this many requests wait at once; more are refused (`too-many`). */
  maxPending: number;
  /** Whether anyone can answer now (default: someone listens for `prompt` on the gate). */
  canAsk?: () => boolean;
  now?: () => number;
}

interface Pending {
  prompt: EgressPrompt;
  settle: (o: PromptOutcome) => void;
}

/** Events: `prompt` when a request starts waiting, `settled` when its wait ends (for any reason). */
export class DecisionGate extends EventEmitter<{ prompt: [EgressPrompt]; settled: [string, PromptOutcome] }> {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(private readonly opts: GateOptions) {
    super();
  }

  /** The prompts waiting now, oldest first. */
  list(): EgressPrompt[] {
    return [...this.pending.values()].map((p) => p.prompt);
  }

  /**
   * Raises a prompt and waits for its outcome. MUST be called only for a request that is
   * blocked; the caller acts on the outcome (only `once` and `always` let it through).
   */
  ask(req: Omit<EgressPrompt, 'id' | 'createdAt' | 'expiresAt'>, abort?: AbortSignal): Promise<PromptOutcome> {
    if (this.closed) return Promise.resolve('closed');
    if (!(this.opts.canAsk ? this.opts.canAsk() : this.listenerCount('prompt') > 0)) return Promise.resolve('unanswerable');
    if (this.pending.size >= this.opts.maxPending) return Promise.resolve('too-many');
    if (abort?.aborted) return Promise.resolve('closed');
    const now = (this.opts.now ?? Date.now)();
    const prompt: EgressPrompt = { ...req, id: randomUUID(), createdAt: now, expiresAt: now + this.opts.timeoutMs };
    return new Promise<PromptOutcome>((resolve) => {
      const timer = setTimeout(() => settle('timeout'), this.opts.timeoutMs);
      const onAbort = (): void => settle('closed');
      const settle = (o: PromptOutcome): void => {
        if (!this.pending.delete(prompt.id)) return;
        clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
        this.emit('settled', prompt.id, o);
        resolve(o);
      };
      abort?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(prompt.id, { prompt, settle });
      this.emit('prompt', prompt);
    });
  }

  /** Answers one prompt. Returns false when it is no longer waiting (answered, expired, gone). */
  answer(promptId: string, answer: PromptAnswer): boolean {
    const p = this.pending.get(promptId);
    if (!p) return false;
    p.settle(answer);
    return true;
  }

  /** Settles every waiting prompt the predicate picks (used after "always" covers others too). */
  answerWhere(pick: (p: EgressPrompt) => boolean, answer: PromptAnswer): number {
    let n = 0;
    for (const p of [...this.pending.values()]) {
      if (pick(p.prompt)) {
        p.settle(answer);
        n++;
      }
    }
    return n;
  }

  /** Refuses every waiting request and every later one. */
  close(): void {
    this.closed = true;
    for (const p of [...this.pending.values()]) p.settle('closed');
  }
}
