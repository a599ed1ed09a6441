import { describe, expect, it } from 'vitest';
import type { TaskStep, TaskStepRecord } from '../shared/contract-schemas.js';
import { formatDuration } from './format.js';
import { formatCost, mergeSteps, resultFacts, stepItems, taskViews } from './steps-model.js';

const rec = (index: number, step: TaskStep): TaskStepRecord => ({ taskId: 't1', index, at: 1000 + index, step });
const result = (over: Partial<Extract<TaskStep, { kind: 'result' }>> = {}): Extract<TaskStep, { kind: 'result' }> => ({
  kind: 'result', ok: true, text: 'Done.', turns: 3, costUsd: 0.01234, durationMs: 12_500, inputTokens: 1234, outputTokens: 567, ...over,
});

describe('mergeSteps', () => {
  it('keeps index order and each index once, whatever order loads and events arrive in', () => {
    const a = rec(0, { kind: 'text', text: 'a' });
    const b = rec(1, { kind: 'text', text: 'b' });
    const c = rec(2, { kind: 'text', text: 'c' });
    let list = mergeSteps([], [c]); // an event before the load finished
    list = mergeSteps(list, [a, b, c]); // the load, which also holds c
    list = mergeSteps(list, [b]); // a duplicate event
    expect(list.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(mergeSteps(list, [b])).toBe(list); // nothing new: same array, no re-render
  });
});

describe('stepItems', () => {
  it('pairs each tool result with its tool use and keeps the rest in order', () => {
    const items = stepItems([
      rec(0, { kind: 'session', sessionId: 's', model: 'claude-x', tools: ['Write', 'Bash'] }),
      rec(1, { kind: 'text', text: 'I will write the file.' }),
      rec(2, { kind: 'tool-use', id: 'tu1', name: 'Write', summary: 'Write: /workspace/notes.txt' }),
      rec(3, { kind: 'tool-result', toolUseId: 'tu1', toolName: 'Write', isError: false, text: 'File created' }),
      rec(4, { kind: 'tool-result', toolUseId: 'nope', toolName: null, isError: true, text: 'lost' }),
      rec(5, { kind: 'notice', text: 'warning: x' }),
      rec(6, result()),
    ]);
    expect(items.map((i) => i.type)).toEqual(['session', 'text', 'tool', 'orphan-result', 'notice', 'result']);
    expect(items[2]).toMatchObject({ type: 'tool', name: 'Write', summary: 'Write: /workspace/notes.txt', result: { isError: false, text: 'File created' } });
    expect(items[0]).toMatchObject({ model: 'claude-x', tools: 2 });
    expect(items[5]).toMatchObject({ type: 'result', text: 'Done.' });
  });

  it("drops the result's closing words when they repeat the assistant's last text", () => {
    const items = stepItems([rec(0, { kind: 'text', text: 'Wrote hello.txt.' }), rec(1, result({ text: 'Wrote hello.txt.\n' }))]);
    expect(items[1]).toMatchObject({ type: 'result', text: null });
  });

  it('leaves a tool use without result open (null) until its result arrives', () => {
    const items = stepItems([rec(0, { kind: 'tool-use', id: 'tu1', name: 'Bash', summary: 'Bash: sleep 5' })]);
    expect(items[0]).toMatchObject({ type: 'tool', result: null });
  });
});

describe('result figures', () => {
  it('says turns, cost, tokens and duration, leaving out what was not reported', () => {
    expect(resultFacts(result(), formatDuration)).toEqual(['3 turns', '$0.0123', '1,234 tokens in, 567 out', '12 s']);
    expect(resultFacts(result({ turns: 1, costUsd: null, inputTokens: null, outputTokens: null, durationMs: null }), formatDuration)).toEqual(['1 turn']);
    expect(formatCost(2.5)).toBe('$2.50');
  });
});

describe('taskViews', () => {
  it('opens an agent that reports steps on its steps, everything else on its raw output', () => {
    const p = { id: 'claude-code', name: 'Claude Code', description: '', takesPrompt: true, hosts: [], image: 'standard' as const, apis: ['anthropic' as const], showsSteps: true };
    expect(taskViews(p).map(([v]) => v)).toEqual(['steps', 'output', 'network']);
    expect(taskViews({ ...p, showsSteps: false }).map(([v]) => v)).toEqual(['output', 'network']);
    expect(taskViews(null).map(([v]) => v)).toEqual(['output', 'network']);
  });
});
