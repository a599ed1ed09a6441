import { describe, expect, it } from 'vitest';
import type { TaskSnapshot } from '../shared/contract-schemas.js';
import { formatStep, taskExitStatus } from './cli-agent.js';

describe('viv run --profile output', () => {
  it('prints each step as a plain line', () => {
    expect(formatStep({ kind: 'session', sessionId: 's', model: 'claude-x', tools: [] })).toBe('● session started (claude-x)');
    expect(formatStep({ kind: 'text', text: 'I will write the file.\n' })).toBe('I will write the file.');
    expect(formatStep({ kind: 'tool-use', id: 't', name: 'Write', summary: 'Write: /workspace/a.txt' })).toBe('→ Write: /workspace/a.txt');
    expect(formatStep({ kind: 'tool-result', toolUseId: 't', toolName: 'Bash', isError: true, text: 'exit 1\nmore' })).toBe('  ✗ Bash: exit 1');
    expect(formatStep({ kind: 'result', ok: true, text: 'Done.', turns: 2, costUsd: 0.0123, durationMs: 5, inputTokens: 50, outputTokens: 25 })).toBe('✓ done · 2 turns · $0.0123 · 50 in / 25 out tokens');
    expect(formatStep({ kind: 'result', ok: false, text: 'API error: 401\nx', turns: 1, costUsd: null, durationMs: null, inputTokens: null, outputTokens: null })).toBe('✗ failed · 1 turn: API error: 401');
    expect(formatStep({ kind: 'notice', text: 'not JSON' })).toBe('! not JSON');
  });

  it("exits with the agent's status, 130 when cancelled, 2 when it never ran", () => {
    const t = (p: Partial<TaskSnapshot>): TaskSnapshot => ({ exitCode: null, signal: null, state: 'failed', ...p }) as TaskSnapshot;
    expect(taskExitStatus(t({ exitCode: 3 }))).toBe(3);
    expect(taskExitStatus(t({ state: 'cancelled' }))).toBe(130);
    expect(taskExitStatus(t({ signal: 'TERM' }))).toBe(143);
    expect(taskExitStatus(t({ signal: 'KILL' }))).toBe(137);
    expect(taskExitStatus(t({}))).toBe(2);
  });
});
