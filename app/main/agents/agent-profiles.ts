/**
 * Agent profiles as data (issue 10): what image a profile needs, the command it runs, the APIs
 * it calls through the host gateway, and how its output is read. The core turns a task's
 * profile and text into a guest command line and environment with `agentInvocation`; the
 * environment points the agent at the gateway with a placeholder key and MUST NOT carry the
 * user's key (the gateway adds it on the host).
 */
import type { AgentProfile } from '../../shared/contract-schemas.js';
import { VivError } from '../../shared/errors.js';
import type { ApiId } from '../gateway/gateway-apis.js';
import { shellJoin } from '../guest/remote-command.js';

/** Which guest image a profile runs in: the initramfs-only tiny one or the Debian standard one. */
export type GuestImageKind = 'tiny' | 'standard';

/** How a profile's output is read: plain terminal text, or Claude Code's stream-json events. */
export type OutputFormat = 'terminal' | 'claude-stream-json';

/** Marks where the task's text goes in a profile's argv. */
export const PROMPT = '{prompt}';

/** One agent profile. */
export interface AgentProfileSpec {
  id: string;
  name: string;
  description: string;
  image: GuestImageKind;
  /**
   * argv of the command; the element equal to PROMPT is replaced by the task's text, and
   * `{env:NAME}` inside an element by that variable of the task's environment (a gateway base
   * URL). Empty: the text is a shell command.
   */
  argv: readonly string[];
  /** APIs the agent calls (each gets a gateway endpoint and base-URL variable). */
  apis: readonly ApiId[];
  output: OutputFormat;
  /** Fixed environment of the agent (never secrets). */
  env: Readonly<Record<string, string>>;
}

// The agents live in /usr/local/bin of the standard image; the SSH server's default PATH may lack it.
const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The built-in profiles. */
export const AGENT_PROFILES: readonly AgentProfileSpec[] = [
  {
    id: 'shell',
    name: 'Shell command',
    description: 'Runs a shell command in /workspace.',
    image: 'tiny',
    argv: [],
    apis: [],
    output: 'terminal',
    env: {},
  },
  {
    id: 'claude-code',
    name: 'Claude Code',
    description: 'Runs Claude Code on the prompt (`claude -p`), reaching the Anthropic API only through the host gateway.',
    image: 'standard',
    // The VM is the sandbox, so Claude Code's own permission prompts (which nobody can answer
    // in -p mode) are bypassed; IS_SANDBOX allows that as root.
    argv: ['claude', '-p', PROMPT, '--output-format', 'stream-json', '--verbose', '--permission-mode', 'bypassPermissions'],
    apis: ['anthropic'],
    output: 'claude-stream-json',
    env: { IS_SANDBOX: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1', HOME: '/root', PATH: STANDARD_PATH },
  },
  {
    id: 'codex',
    name: 'Codex CLI',
    description: 'Runs Codex CLI on the prompt (`codex exec`), reaching the OpenAI API only through the host gateway.',
    image: 'standard',
    // Codex reads its endpoint from config, not OPENAI_BASE_URL: a provider of its own pointed at the
    // gateway, over plain HTTP streaming (the gateway speaks no WebSocket), keyed by the placeholder.
    argv: [
      'codex', 'exec',
      '-c', 'model_provider="vivarium"',
      '-c', 'model_providers.vivarium={ name = "Vivarium gateway", base_url = "{env:OPENAI_BASE_URL}", env_key = "OPENAI_API_KEY", wire_api = "responses", supports_websockets = false }',
      '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', PROMPT,
    ],
    apis: ['openai'],
    output: 'terminal',
    env: { HOME: '/root', PATH: STANDARD_PATH },
  },
];

/** The profile with `id` (null and 'shell' mean the shell profile); throws notFound otherwise. */
export function agentProfile(id: string | null): AgentProfileSpec {
  const found = AGENT_PROFILES.find((p) => p.id === (id ?? 'shell'));
  if (!found) throw new VivError('notFound', `There is no agent profile "${id}". Known: ${AGENT_PROFILES.map((p) => p.id).join(', ')}.`);
  return found;
}

/** A profile in the contract's shape (what the new-task form lists). No hosts: APIs go through the gateway, not egress. */
export function toContractProfile(p: AgentProfileSpec): AgentProfile {
  return { id: p.id, name: p.name, description: p.description, takesPrompt: p.argv.length > 0, hosts: [], image: p.image, apis: [...p.apis], showsSteps: p.output === 'claude-stream-json' };
}

/** What the core runs for a task. */
export interface AgentInvocation {
  /** The shell command line for the guest (run in /workspace). */
  command: string;
  /** Environment to set for it: the profile's plus the gateway's. */
  env: Record<string, string>;
  image: GuestImageKind;
  output: OutputFormat;
}

/**
 * The command and environment of a task. `gatewayEnv` is what GatewaySession.taskEnvironment
 * returned for the profile's APIs. Rejects an empty prompt for an agent, and a gateway
 * environment that lacks a base URL the profile needs (the VM was started without that API).
 */
export function agentInvocation(profileId: string | null, text: string, gatewayEnv: Readonly<Record<string, string>> = {}): AgentInvocation {
  const p = agentProfile(profileId);
  if (p.argv.length > 0 && text.trim() === '') throw new VivError('invalidArgument', `${p.name} needs a prompt.`);
  const needed: Record<ApiId, string> = { anthropic: 'ANTHROPIC_BASE_URL', openai: 'OPENAI_BASE_URL' };
  for (const api of p.apis) {
    if (!gatewayEnv[needed[api]]) throw new VivError('invalidState', `${p.name} needs the ${api} API gateway, which this VM was not started with.`);
  }
  // Agents get the prompt as an argument; an open stdin only makes them wait for more input.
  const env = { ...p.env, ...gatewayEnv };
  const expand = (a: string): string => (a === PROMPT ? text : a.replace(/\{env:([A-Z_][A-Z0-9_]*)\}/g, (_m, name: string) => env[name] ?? ''));
  const command = p.argv.length === 0 ? text : `${shellJoin(p.argv.map(expand))} </dev/null`;
  return { command, env, image: p.image, output: p.output };
}

/** The image a set of profiles needs: standard if any of them does. */
export function imageForProfiles(ids: readonly (string | null)[]): GuestImageKind {
  return ids.some((id) => agentProfile(id).image === 'standard') ? 'standard' : 'tiny';
}
