import { describe, expect, it } from 'vitest';
import { ClaudeStreamParser, summarizeToolUse, type AgentEvent } from './claude-stream-parser.js';

// The shape Claude Code prints with `-p --output-format stream-json --verbose`.
const LINES = [
  { type: 'system', subtype: 'init', session_id: 's-1', model: 'claude-x', tools: ['Bash', 'Write'], cwd: '/workspace' },
  { type: 'assistant', message: { role: 'assistant', content: [{ type: 'text', text: 'I will write the file.\nThen stop.' }, { type: 'tool_use', id: 'toolu_1', name: 'Write', input: { file_path: '/workspace/hello.txt', content: 'hi' } }] } },
  { type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'File created successfully' }] }] } },
  { type: 'rate_limit_event', whatever: true },
  { type: 'assistant', message: { content: [{ type: 'text', text: 'Done.' }] } },
  { type: 'result', subtype: 'success', is_error: false, num_turns: 2, result: 'Done.', total_cost_usd: 0.0123, duration_ms: 4567, usage: { input_tokens: 100, output_tokens: 20 } },
].map((l) => JSON.stringify(l));

function parseAll(chunks: string[]): { events: AgentEvent[]; parser: ClaudeStreamParser } {
  const parser = new ClaudeStreamParser();
  const events = chunks.flatMap((c) => parser.feed(c));
  events.push(...parser.end());
  return { events, parser };
}

describe('ClaudeStreamParser', () => {
  it('turns a session into text, tool-use, tool-result and result events', () => {
    const { events, parser } = parseAll([LINES.join('\n') + '\n']);
    expect(events.map((e) => e.kind)).toEqual(['session', 'text', 'tool-use', 'tool-result', 'text', 'result']);
    expect(events[2]).toMatchObject({ kind: 'tool-use', id: 'toolu_1', name: 'Write', summary: 'Write: /workspace/hello.txt' });
    expect(events[3]).toEqual({ kind: 'tool-result', toolUseId: 'toolu_1', toolName: 'Write', isError: false, text: 'File created successfully' });
    expect(events[5]).toEqual({ kind: 'result', ok: true, text: 'Done.', turns: 2, costUsd: 0.0123, durationMs: 4567, inputTokens: 100, outputTokens: 20 });
    expect(parser.progress).toEqual({ kind: 'none', percent: null });
    expect(parser.statusLine).toBe('Done in 2 turns');
  });

  it('gives the same events whatever the chunk boundaries, even one character at a time', () => {
    const text = LINES.join('\r\n');
    const whole = parseAll([text]).events;
    const byChar = parseAll([...text]).events;
    const split = parseAll([text.slice(0, 77), text.slice(77, 300), text.slice(300)]).events;
    expect(byChar).toEqual(whole);
    expect(split).toEqual(whole);
    expect(whole.at(-1)?.kind).toBe('result'); // the last line had no newline
  });

  it('shows progress while running and the current tool as status', () => {
    const parser = new ClaudeStreamParser();
    parser.feed(`${LINES[0]}\n${LINES[1]}\n`);
    expect(parser.progress.kind).toBe('indeterminate');
    expect(parser.statusLine).toBe('Write: /workspace/hello.txt');
  });

  it('reports a failed run, tool errors, and non-JSON lines as notices; skips unknown shapes', () => {
    const { events, parser } = parseAll([
      'Error: Invalid API key \x1b[31mfix it\x1b[0m\n',
      '{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t2","name":"Bash","input":{"command":"false\\nmore"}}]}}\n',
      '{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t2","is_error":true,"content":"exit 1"}]}}\n',
      '[1,2]\n{"type":"assistant"}\n{"type":"user","message":{"content":"plain"}}\n',
      '{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":9}\n',
    ]);
    expect(events).toEqual([
      { kind: 'notice', text: 'Error: Invalid API key fix it' },
      { kind: 'tool-use', id: 't2', name: 'Bash', summary: 'Bash: false', input: { command: 'false\nmore' } },
      { kind: 'tool-result', toolUseId: 't2', toolName: 'Bash', isError: true, text: 'exit 1' },
      { kind: 'result', ok: false, text: null, turns: 9, costUsd: null, durationMs: null, inputTokens: null, outputTokens: null },
    ]);
    expect(parser.progress.kind).toBe('error');
    expect(parser.statusLine).toBe('Failed: error_max_turns');
  });

  it('drops an endless line instead of holding it, and recovers at the next one', () => {
    const parser = new ClaudeStreamParser();
    const big = 'x'.repeat(1024 * 1024);
    const events: AgentEvent[] = [];
    for (let i = 0; i < 9; i++) events.push(...parser.feed(big));
    events.push(...parser.feed(`tail\n${LINES[4]}\n`));
    expect(events.map((e) => e.kind)).toEqual(['notice', 'text']);
    expect(events[0]).toMatchObject({ text: expect.stringMatching(/longer than/) });
  });

  it('summarizes tool calls by their most telling input', () => {
    expect(summarizeToolUse('Grep', { pattern: 'TODO', path: 'src' })).toBe('Grep: TODO');
    expect(summarizeToolUse('TodoWrite', { todos: [] })).toBe('TodoWrite');
    expect(summarizeToolUse('Bash', { command: 'x'.repeat(500) })).toHaveLength(200);
  });
});
