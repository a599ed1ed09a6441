/**
 * Reads Claude Code's `--output-format stream-json --verbose` output (one JSON object per line)
 * into task events the UI shows as steps — assistant text, each tool use and its result, and
 * the final cost and turn counts — plus task progress and a status line. Chunk boundaries may
 * fall anywhere; lines that are not JSON (an error printed before streaming started) become
 * notices; event types it does not know are skipped, so newer Claude Code versions still parse.
 */
import type { TaskProgress } from '../../shared/contract-schemas.js';

/** One step of an agent task. */
export type AgentEvent =
  | { kind: 'session'; sessionId: string | null; model: string | null; tools: string[] }
  | { kind: 'text'; text: string }
  | { kind: 'tool-use'; id: string; name: string; summary: string; input: unknown }
  | { kind: 'tool-result'; toolUseId: string; toolName: string | null; isError: boolean; text: string }
  | { kind: 'result'; ok: boolean; text: string | null; turns: number | null; costUsd: number | null; durationMs: number | null; inputTokens: number | null; outputTokens: number | null }
  | { kind: 'notice'; text: string };

// A line longer than this is dropped (with a notice) instead of growing memory without bound.
const MAX_LINE_CHARS = 8 * 1024 * 1024;
// Text kept per tool result and per notice; the full output is in the task's log anyway.
const MAX_RESULT_CHARS = 4000;
const MAX_SUMMARY_CHARS = 200;

/** Incremental parser; feed decoded stdout text in order, then call `end`. */
export class ClaudeStreamParser {
  progress: TaskProgress = { kind: 'none', percent: null };
  statusLine: string | null = null;
  private buffer = '';
  private skipping = false;
  private readonly toolNames = new Map<string, string>();

  /** Consumes one chunk; returns the events completed by it. */
  feed(text: string): AgentEvent[] {
    const events: AgentEvent[] = [];
    let rest = this.buffer + text;
    for (;;) {
      const nl = rest.indexOf('\n');
      if (nl < 0) break;
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      this.readLine(line, events);
    }
    if (rest.length > MAX_LINE_CHARS) {
      rest = '';
      this.skipping = true;
      events.push({ kind: 'notice', text: `an output line longer than ${MAX_LINE_CHARS} characters was skipped` });
    }
    this.buffer = rest;
    return events;
  }

  /** The output ended: reads a last line without newline. */
  end(): AgentEvent[] {
    const events: AgentEvent[] = [];
    if (!this.skipping && this.buffer.trim() !== '') this.readLine(this.buffer, events);
    this.buffer = '';
    this.skipping = false;
    return events;
  }

  private readLine(raw: string, events: AgentEvent[]): void {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      events.push({ kind: 'notice', text: clip(stripControls(line), MAX_RESULT_CHARS) });
      return;
    }
    if (!isObject(value)) return;
    switch (value.type) {
      case 'system':
        if (value.subtype === 'init') {
          events.push({ kind: 'session', sessionId: str(value.session_id), model: str(value.model), tools: Array.isArray(value.tools) ? value.tools.filter((t): t is string => typeof t === 'string') : [] });
          this.progress = { kind: 'indeterminate', percent: null };
          this.statusLine = 'Started';
        }
        return;
      case 'assistant':
        return this.readAssistant(value.message, events);
      case 'user':
        return this.readToolResults(value.message, events);
      case 'result':
        return this.readResult(value, events);
      default:
        return; // stream_event, rate-limit notices and types added later
    }
  }

  private readAssistant(message: unknown, events: AgentEvent[]): void {
    if (!isObject(message) || !Array.isArray(message.content)) return;
    this.progress = { kind: 'indeterminate', percent: null };
    for (const block of message.content) {
      if (!isObject(block)) continue;
      if (block.type === 'text' && typeof block.text === 'string' && block.text.trim() !== '') {
        events.push({ kind: 'text', text: block.text });
        this.statusLine = clip(firstLine(block.text), MAX_SUMMARY_CHARS);
      } else if (block.type === 'tool_use' && typeof block.id === 'string' && typeof block.name === 'string') {
        this.toolNames.set(block.id, block.name);
        const summary = summarizeToolUse(block.name, block.input);
        events.push({ kind: 'tool-use', id: block.id, name: block.name, summary, input: block.input ?? null });
        this.statusLine = summary;
      }
    }
  }

  private readToolResults(message: unknown, events: AgentEvent[]): void {
    if (!isObject(message) || !Array.isArray(message.content)) return;
    for (const block of message.content) {
      if (!isObject(block) || block.type !== 'tool_result' || typeof block.tool_use_id !== 'string') continue;
      events.push({
        kind: 'tool-result',
        toolUseId: block.tool_use_id,
        toolName: this.toolNames.get(block.tool_use_id) ?? null,
        isError: block.is_error === true,
        text: clip(resultText(block.content), MAX_RESULT_CHARS),
      });
    }
  }

  private readResult(value: Record<string, unknown>, events: AgentEvent[]): void {
    const ok = value.is_error !== true && (value.subtype === undefined || value.subtype === 'success');
    const usage = isObject(value.usage) ? value.usage : {};
    events.push({
      kind: 'result',
      ok,
      text: str(value.result),
      turns: num(value.num_turns),
      costUsd: num(value.total_cost_usd) ?? num(value.cost_usd),
      durationMs: num(value.duration_ms),
      inputTokens: num(usage.input_tokens),
      outputTokens: num(usage.output_tokens),
    });
    this.progress = ok ? { kind: 'none', percent: null } : { kind: 'error', percent: null };
    const turns = num(value.num_turns);
    this.statusLine = ok ? `Done${turns !== null ? ` in ${turns} turn${turns === 1 ? '' : 's'}` : ''}` : `Failed: ${clip(firstLine(str(value.result) ?? String(value.subtype ?? 'error')), MAX_SUMMARY_CHARS)}`;
  }
}

/** A one-line description of a tool call ("Write notes.txt", "Bash: npm test"). */
export function summarizeToolUse(name: string, input: unknown): string {
  const i = isObject(input) ? input : {};
  const detail = str(i.file_path) ?? str(i.notebook_path) ?? str(i.command) ?? str(i.pattern) ?? str(i.url) ?? str(i.path) ?? str(i.description) ?? str(i.query);
  return clip(detail ? `${name}: ${firstLine(detail)}` : name, MAX_SUMMARY_CHARS);
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((c) => (isObject(c) && c.type === 'text' && typeof c.text === 'string' ? c.text : isObject(c) && typeof c.type === 'string' ? `[${c.type}]` : ''))
    .filter((s) => s !== '')
    .join('\n');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
function firstLine(s: string): string {
  return s.trim().split('\n', 1)[0]!.trim();
}
function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
// Terminal escapes and control characters (kept: tab).
const CONTROLS = /\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]/g;
function stripControls(s: string): string {
  return s.replace(CONTROLS, '');
}
