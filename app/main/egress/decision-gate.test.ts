import { describe, expect, it } from 'vitest';
import { DecisionGate, type EgressPrompt } from './decision-gate.js';

const req = { workspaceId: 'ws', taskId: null, host: 'a.example.com', port: 443, kind: 'connect' as const, method: null, blockedAs: 'blocked-by-policy' as const, reason: 'r' };

describe('DecisionGate', () => {
  it('refuses at once when nobody listens', async () => {
    expect(await new DecisionGate({ timeoutMs: 1000, maxPending: 4 }).ask(req)).toBe('unanswerable');
  });

  it('delivers one answer per prompt and reports it settled', async () => {
    const gate = new DecisionGate({ timeoutMs: 10_000, maxPending: 4, now: () => 1000 });
    const seen: EgressPrompt[] = [];
    const settled: [string, string][] = [];
    gate.on('prompt', (p) => seen.push(p));
    gate.on('settled', (id, o) => settled.push([id, o]));
    const a = gate.ask(req);
    const b = gate.ask({ ...req, host: 'b.example.com' });
    expect(seen.map((p) => [p.host, p.createdAt, p.expiresAt])).toEqual([
      ['a.example.com', 1000, 11_000],
      ['b.example.com', 1000, 11_000],
    ]);
    expect(gate.answer(seen[1]!.id, 'deny')).toBe(true);
    expect(gate.answer(seen[1]!.id, 'once')).toBe(false);
    expect(gate.answer('nope', 'once')).toBe(false);
    expect(await b).toBe('deny');
    expect(gate.list().map((p) => p.host)).toEqual(['a.example.com']);
    expect(gate.answerWhere((p) => p.host === 'a.example.com', 'always')).toBe(1);
    expect(await a).toBe('always');
    expect(settled.map(([, o]) => o)).toEqual(['deny', 'always']);
  });

  it('bounds waiting in time and number, and honours abort and close', async () => {
    const gate = new DecisionGate({ timeoutMs: 50, maxPending: 1 });
    gate.on('prompt', () => undefined);
    const first = gate.ask(req);
    expect(await gate.ask(req)).toBe('too-many');
    expect(await first).toBe('timeout');
    const ac = new AbortController();
    const aborted = gate.ask(req, ac.signal);
    ac.abort();
    expect(await aborted).toBe('closed');
    const pending = gate.ask(req);
    gate.close();
    expect(await pending).toBe('closed');
    expect(await gate.ask(req)).toBe('closed');
  });
});
