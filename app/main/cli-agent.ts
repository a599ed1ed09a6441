/**
 * `viv run --profile <id> <prompt>`: the prompt runs as a task of the core's queue (the same path
 * as the app: the standard image, the API gateway, steps), headless. Steps go to stdout as lines
 * a person reads; a profile without steps streams its terminal output instead. Status and
 * progress go to stderr when it is a terminal. The exit status is the agent's.
 */
import { constants as osConstants } from 'node:os';
import type { TaskSnapshot, TaskStep } from '../shared/contract-schemas.js';
import { VivError } from '../shared/errors.js';
import { agentProfile } from './agents/agent-profiles.js';
import type { Vivarium } from './core/vivarium.js';

/** One step as a line (or lines) of text; no colour, no escape sequences. */
export function formatStep(step: TaskStep): string {
  switch (step.kind) {
    case 'session':
      return `● session started${step.model ? ` (${step.model})` : ''}`;
    case 'text':
      return step.text.trimEnd();
    case 'tool-use':
      return `→ ${step.summary}`;
    case 'tool-result': {
      const first = step.text.trim().split('\n', 1)[0] ?? '';
      return `  ${step.isError ? '✗' : '✓'} ${step.toolName ?? 'tool'}${first ? `: ${first.slice(0, 200)}` : ''}`;
    }
    case 'result': {
      const parts = [step.ok ? '✓ done' : '✗ failed'];
      if (step.turns !== null) parts.push(`${step.turns} turn${step.turns === 1 ? '' : 's'}`);
      if (step.costUsd !== null) parts.push(`$${step.costUsd.toFixed(4)}`);
      if (step.inputTokens !== null || step.outputTokens !== null) parts.push(`${step.inputTokens ?? '?'} in / ${step.outputTokens ?? '?'} out tokens`);
      const text = !step.ok && step.text ? `: ${step.text.trim().split('\n', 1)[0]}` : '';
      return parts.join(' · ') + text;
    }
    case 'notice':
      return `! ${step.text}`;
  }
}

/** Exit status of a finished task: its own, 128+n for a signal, 130 when cancelled, 2 when it never ran. */
export function taskExitStatus(t: TaskSnapshot): number {
  if (t.exitCode !== null) return t.exitCode;
  if (t.state === 'cancelled') return 130;
  if (t.signal) return 128 + ((osConstants.signals as Record<string, number>)[`SIG${t.signal}`] ?? (osConstants.signals as Record<string, number>)[t.signal] ?? 1);
  return 2;
}

/** Queues the agent task, prints it as it goes, and resolves with its exit status. */
export async function runAgentTask(core: Vivarium, workspaceId: string, profileId: string, prompt: string, progress: (line: string) => void): Promise<number> {
  const profile = agentProfile(profileId);
  const showsSteps = profile.output === 'claude-stream-json';
  let taskId: string | null = null;
  let lastStatus: string | null = null;
  const early: Array<() => void> = [];
  const unsubscribe = core.subscribe((e) => {
    const deliver = (): void => {
      if (e.event === 'task:step' && e.payload.taskId === taskId) process.stdout.write(`${formatStep(e.payload.step)}\n`);
      else if (e.event === 'task:output' && e.payload.taskId === taskId && !showsSteps) process.stdout.write(e.payload.data);
      else if (e.event === 'task:changed' && e.payload.id === taskId && e.payload.statusLine !== lastStatus && e.payload.state === 'running') {
        lastStatus = e.payload.statusLine;
        if (lastStatus) progress(lastStatus);
      }
    };
    // Events can arrive before startTask returns the id: hold them until then.
    if (taskId === null) early.push(deliver);
    else deliver();
  });
  try {
    const task = await core.startTask(workspaceId, prompt, profileId);
    taskId = task.id;
    early.splice(0).forEach((d) => d());
    progress(`task ${task.id} queued (${profile.name})`);
    const done = await core.tasks.waitFor(task.id);
    if (done.state !== 'succeeded') {
      process.stderr.write(`viv: ${profile.name} ${done.state}${done.reason ? `: ${done.reason}` : ''}\n`);
      // Without steps to say why, the end of the output does (e.g. the agent's own error message).
      if (showsSteps && (await core.taskSteps(task.id)).length === 0) {
        const tail = await core.readTaskOutput(task.id, 0, 4096);
        if (tail.data.trim()) process.stderr.write(`${tail.data.trimEnd()}\n`);
      }
      if (done.exitCode === null && done.state === 'failed') throw new VivError('internal', done.reason ?? `${profile.name} did not run.`);
    }
    return taskExitStatus(done);
  } finally {
    unsubscribe();
  }
}
