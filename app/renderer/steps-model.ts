/**
 * An agent task's steps as the steps view shows them: records merged in index order (events
 * and the initial load may overlap or arrive out of order), and each tool use paired with its
 * result. Pure, so it is unit-tested.
 */
import type { AgentProfile, TaskStep, TaskStepRecord } from '../shared/contract-schemas.js';

type ResultStep = Extract<TaskStep, { kind: 'result' }>;

/** One row of the steps view. */
export type StepItem =
  | { type: 'session'; index: number; model: string | null; tools: number }
  | { type: 'text'; index: number; text: string }
  | { type: 'tool'; index: number; id: string; name: string; summary: string; result: { isError: boolean; text: string } | null }
  | { type: 'orphan-result'; index: number; toolName: string | null; isError: boolean; text: string }
  /** `text`: the run's closing words, null when they repeat the assistant's last text (Claude Code's usually do). */
  | { type: 'result'; index: number; step: ResultStep; text: string | null }
  | { type: 'notice'; index: number; text: string };

/** Adds records to a list sorted by index, once each (a later copy of an index is ignored). */
export function mergeSteps(list: readonly TaskStepRecord[], more: readonly TaskStepRecord[]): TaskStepRecord[] {
  const seen = new Set(list.map((r) => r.index));
  const added: TaskStepRecord[] = [];
  for (const r of more) {
    if (seen.has(r.index)) continue;
    seen.add(r.index);
    added.push(r);
  }
  if (added.length === 0) return list as TaskStepRecord[];
  return [...list, ...added].sort((a, b) => a.index - b.index);
}

/** The rows for a list of records: a tool result folds into its tool use when that came first. */
export function stepItems(records: readonly TaskStepRecord[]): StepItem[] {
  const items: StepItem[] = [];
  const tools = new Map<string, Extract<StepItem, { type: 'tool' }>>();
  let lastText: string | null = null;
  for (const { index, step } of records) {
    switch (step.kind) {
      case 'session':
        items.push({ type: 'session', index, model: step.model, tools: step.tools.length });
        break;
      case 'text':
        items.push({ type: 'text', index, text: step.text });
        lastText = step.text;
        break;
      case 'tool-use': {
        const item = { type: 'tool' as const, index, id: step.id, name: step.name, summary: step.summary, result: null };
        tools.set(step.id, item);
        items.push(item);
        break;
      }
      case 'tool-result': {
        const tool = tools.get(step.toolUseId);
        if (tool && tool.result === null) tool.result = { isError: step.isError, text: step.text };
        else items.push({ type: 'orphan-result', index, toolName: step.toolName, isError: step.isError, text: step.text });
        break;
      }
      case 'result':
        items.push({ type: 'result', index, step, text: step.text !== null && step.text.trim() !== lastText?.trim() ? step.text : null });
        break;
      case 'notice':
        items.push({ type: 'notice', index, text: step.text });
        break;
    }
  }
  return items;
}

/** "$0.0123" (four decimals below a dollar, two above). */
export function formatCost(usd: number): string {
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** The final figures of a run: "3 turns · $0.0123 · 1,234 tokens in, 567 out · 12 s" (unknown ones left out). */
export function resultFacts(r: ResultStep, formatDuration: (ms: number) => string): string[] {
  const facts: string[] = [];
  if (r.turns !== null) facts.push(`${r.turns} ${r.turns === 1 ? 'turn' : 'turns'}`);
  if (r.costUsd !== null) facts.push(formatCost(r.costUsd));
  if (r.inputTokens !== null || r.outputTokens !== null) {
    const n = (x: number | null): string => (x === null ? '?' : x.toLocaleString('en-US'));
    facts.push(`${n(r.inputTokens)} tokens in, ${n(r.outputTokens)} out`);
  }
  if (r.durationMs !== null) facts.push(formatDuration(r.durationMs));
  return facts;
}

/** What a task's detail can show. */
export type TaskView = 'steps' | 'output' | 'network';

/** The views of a task with this profile, the default first: the steps for an agent that reports them, else the raw output. */
export function taskViews(profile: AgentProfile | null): [TaskView, string][] {
  const rest: [TaskView, string][] = [['output', 'Output'], ['network', 'Network']];
  return profile?.showsSteps ? [['steps', 'Steps'], ...rest] : rest;
}
