/**
 * Agent profiles: named command templates the new-task form offers (DESIGN.md "Tasks").
 * A profile's hosts are shown to the user before it first runs; egress enforcement is the
 * proxy's job, not this module's.
 */
import { VivError } from '../../shared/errors.js';
import type { AgentProfile } from '../../shared/contract-schemas.js';
import { shellQuote } from '../guest/remote-command.js';

/** The built-in profiles. */
export const BUILTIN_PROFILES: readonly AgentProfile[] = [
  { id: 'shell', name: 'Shell command', description: 'Runs a shell command in /workspace.', takesPrompt: false, hosts: [] },
  { id: 'claude-code', name: 'Claude Code', description: 'Runs `claude -p <prompt>` (the Claude Code CLI must be in the VM).', takesPrompt: true, hosts: ['api.anthropic.com'] },
];

/** The shell command a task runs: the text itself, or the profile's template around the prompt. */
export function commandFor(profileId: string | null, text: string): string {
  if (profileId === null || profileId === 'shell') return text;
  if (profileId === 'claude-code') return `claude -p ${shellQuote(text)}`;
  throw new VivError('notFound', `There is no agent profile "${profileId}".`);
}
