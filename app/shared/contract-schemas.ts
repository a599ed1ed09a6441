/**
 * The data shapes that cross the window boundary (IPC and the harness bridge): snapshots of
 * workspaces, grants, VMs and tasks, and the consent inspection. Times are epoch milliseconds.
 * app/shared/contract.ts names the methods and events that carry them.
 */
import { z } from 'zod';

/** Access the VM gets to the granted folder. */
export const shareModeSchema = z.enum(['ro', 'rw']);
export type ShareMode = z.infer<typeof shareModeSchema>;

/** Opaque identifiers minted by the core. Bounded so a hostile caller cannot send megabytes. */
export const idSchema = z.string().min(1).max(128);

/** The user's consent for one folder: the canonical (realpath) folder and the access mode. */
export const grantSchema = z.object({
  workspaceId: idSchema,
  canonicalPath: z.string(),
  mode: shareModeSchema,
  createdAt: z.number(),
});
export type Grant = z.infer<typeof grantSchema>;

/** The VM lifecycle states of DESIGN.md. */
export const VM_STATES = ['stopped', 'starting', 'running', 'stopping', 'failed'] as const;
export const vmStateSchema = z.enum(VM_STATES);
export type VmState = z.infer<typeof vmStateSchema>;

/** A VM's state; `reason` says why it failed or stopped, `bootMs` how long the last boot took. */
export const vmSnapshotSchema = z.object({
  state: vmStateSchema,
  reason: z.string().nullable(),
  bootMs: z.number().nullable(),
  startedAt: z.number().nullable(),
});
export type VmSnapshot = z.infer<typeof vmSnapshotSchema>;

/** Steps of a VM boot, in order, as the VM bar shows them while the VM starts. */
export const BOOT_PHASES = ['preparing', 'helper', 'booting', 'connecting', 'ready'] as const;

/** A boot reached a new step `elapsedMs` after the start request. */
export const bootProgressSchema = z.object({
  workspaceId: idSchema,
  phase: z.enum(BOOT_PHASES),
  elapsedMs: z.number().nonnegative(),
});
export type BootProgress = z.infer<typeof bootProgressSchema>;

/** VM sizing for a workspace, applied at the next VM start. */
export const vmSettingsSchema = z.object({
  cpus: z.number().int().min(1).max(64),
  memoryMiB: z.number().int().min(128).max(65536),
  /**
   * Keep the VM's state: a standard-image VM writes outside /workspace to a per-workspace disk
   * instead of tmpfs, so installed packages and files survive restarts. Absent = off (files
   * written before the setting existed load unchanged).
   */
  keepState: z.boolean().default(false),
});
export type VmSettings = z.infer<typeof vmSettingsSchema>;
/** A settings change: keepState absent = left as it is. */
export type VmSettingsUpdate = Omit<VmSettings, 'keepState'> & { keepState?: boolean };

/**
 * A workspace's network policy (DESIGN.md "Network egress"): off (the default) or an allowlist
 * of `host[:port]` patterns (`api.example.com`, `*.example.org`). The shape only; the core
 * validates each pattern and names a bad one in an invalidArgument error.
 */
export const egressPolicySchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('off') }),
  z.object({ mode: z.literal('allowlist'), hosts: z.array(z.string().max(300)).max(1000) }),
]);
export type EgressPolicy = z.infer<typeof egressPolicySchema>;

/** One workspace: a folder (through its grant), its VM and its settings. `grant` null = revoked. */
export const workspaceSnapshotSchema = z.object({
  id: idSchema,
  name: z.string(),
  grant: grantSchema.nullable(),
  vm: vmSnapshotSchema,
  settings: vmSettingsSchema,
  /** The network policy; applies to the running VM at once. */
  egress: egressPolicySchema,
});
export type WorkspaceSnapshot = z.infer<typeof workspaceSnapshotSchema>;

/** Why the core asks for a second confirmation: the home folder, or secrets in the folder. */
export const consentWarningSchema = z.object({
  kind: z.enum(['home', 'secrets', 'other']),
  message: z.string(),
  /** Paths (relative to the folder) that triggered it, e.g. `.ssh`, `.env`; may be truncated. */
  paths: z.array(z.string()),
});
export type ConsentWarning = z.infer<typeof consentWarningSchema>;

/**
 * What the consent dialog shows before a folder is granted. `refusal` set = the core will never
 * grant this folder (root, system folder, the app's data folder). `needsConfirmation` = the
 * create call MUST carry `confirmWarnings: true`.
 */
export const consentInspectionSchema = z.object({
  requestedPath: z.string(),
  canonicalPath: z.string(),
  refusal: z.string().nullable(),
  warnings: z.array(consentWarningSchema),
  needsConfirmation: z.boolean(),
  fileCount: z.number().int().nonnegative(),
  totalBytes: z.number().nonnegative(),
  /** True when counting stopped early (very large folders); the figures are then lower bounds. */
  countIncomplete: z.boolean(),
});
export type ConsentInspection = z.infer<typeof consentInspectionSchema>;

/** Task states of DESIGN.md. */
export const TASK_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const taskStateSchema = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof taskStateSchema>;

/** Progress from OSC 9;4: `percent` null when the task reports none or is indeterminate. */
export const taskProgressSchema = z.object({
  kind: z.enum(['none', 'normal', 'error', 'indeterminate', 'paused']),
  percent: z.number().min(0).max(100).nullable(),
});
export type TaskProgress = z.infer<typeof taskProgressSchema>;

/** A task's state as the task list shows it. */
export const taskSnapshotSchema = z.object({
  id: idSchema,
  workspaceId: idSchema,
  command: z.string(),
  profileId: z.string().nullable(),
  state: taskStateSchema,
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  /** Why it failed or was cancelled, in words (null when it simply exited). */
  reason: z.string().nullable(),
  progress: taskProgressSchema,
  statusLine: z.string().nullable(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
});
export type TaskSnapshot = z.infer<typeof taskSnapshotSchema>;

/** A chunk of a task's output log, as stored (terminal bytes decoded as UTF-8). */
export const taskOutputChunkSchema = z.object({
  taskId: idSchema,
  /** Byte offset of `data` in the task's log; lets a viewer drop chunks it already has. */
  offset: z.number().int().nonnegative(),
  data: z.string(),
});
export type TaskOutputChunk = z.infer<typeof taskOutputChunkSchema>;

/** The APIs an agent profile can reach through the host gateway (issue 10). */
export const apiIdSchema = z.enum(['anthropic', 'openai']);
export type ApiIdInfo = z.infer<typeof apiIdSchema>;

/** The guest image a profile runs in: the initramfs-only tiny one or the Debian standard one. */
export const guestImageKindSchema = z.enum(['tiny', 'standard']);

/** A named command template the new-task form offers, with the hosts, image and APIs it needs. */
export const agentProfileSchema = z.object({
  id: idSchema,
  name: z.string(),
  description: z.string(),
  /** Takes a prompt (e.g. `claude -p <prompt>`) rather than a raw command. */
  takesPrompt: z.boolean(),
  hosts: z.array(z.string()),
  /** The guest image its tasks run in. */
  image: guestImageKindSchema,
  /** The APIs it reaches through the host gateway; each needs the user's key. */
  apis: z.array(apiIdSchema),
  /** Its output is read into steps (`task:steps`), which the task view shows beside the raw output. */
  showsSteps: z.boolean(),
});
export type AgentProfile = z.infer<typeof agentProfileSchema>;

/** Terminal size in character cells. */
export const terminalSizeSchema = z.object({
  cols: z.number().int().min(2).max(1000),
  rows: z.number().int().min(1).max(1000),
});

/** What the user may answer when a task reaches a blocked host. */
export const egressAnswerSchema = z.enum(['once', 'always', 'deny']);
export type EgressAnswer = z.infer<typeof egressAnswerSchema>;

/** A blocked request waiting for the user (until `expiresAt`, epoch ms). */
export const egressPromptSchema = z.object({
  id: idSchema,
  workspaceId: idSchema,
  taskId: idSchema.nullable(),
  host: z.string(),
  port: z.number().int(),
  kind: z.enum(['connect', 'http']),
  /** The HTTP method for plain HTTP; null for CONNECT tunnels. */
  method: z.string().nullable(),
  blockedAs: z.enum(['blocked-by-policy', 'blocked-private-address']),
  reason: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
});
export type EgressPromptInfo = z.infer<typeof egressPromptSchema>;

/** How a prompt stopped waiting: the answer, or why there was none. */
export const egressPromptSettledSchema = z.object({
  workspaceId: idSchema,
  promptId: idSchema,
  outcome: z.enum(['once', 'always', 'deny', 'timeout', 'unanswerable', 'too-many', 'closed']),
});
export type EgressPromptSettled = z.infer<typeof egressPromptSettledSchema>;

/** One proxied request of the audit log; bytes count traffic to (up) and from (down) the destination. */
export const egressRecordSchema = z.object({
  time: z.string(),
  workspaceId: z.string(),
  taskId: z.string().nullable(),
  host: z.string(),
  port: z.number().int(),
  kind: z.enum(['connect', 'http']),
  method: z.string().nullable(),
  decision: z.enum(['allowed', 'blocked-by-policy', 'blocked-private-address']),
  reason: z.string(),
  /** The address connected to, when a connection was made. */
  address: z.string().nullable(),
  /** The HTTP status the guest got (for CONNECT: 200 when the tunnel opened). */
  status: z.number().int().nullable(),
  bytesUp: z.number().int().nonnegative(),
  bytesDown: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
  /** Set when an allowed request failed (name did not resolve, connection refused...). */
  error: z.string().optional(),
});
export type EgressRecordInfo = z.infer<typeof egressRecordSchema>;

/** A task's network log; `truncated` when the file reached its cap and later requests were not kept. */
export const egressLogSchema = z.object({
  taskId: idSchema,
  records: z.array(egressRecordSchema),
  truncated: z.boolean(),
});
export type EgressLog = z.infer<typeof egressLogSchema>;

/**
 * One step of an agent task, as the task's steps view shows it (mirrors AgentEvent of
 * app/main/agents/claude-stream-parser.ts). A tool use carries only its one-line summary,
 * never its raw input: the full detail is in the task's output log.
 */
export const taskStepSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('session'), sessionId: z.string().nullable(), model: z.string().nullable(), tools: z.array(z.string()) }),
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({ kind: z.literal('tool-use'), id: z.string(), name: z.string(), summary: z.string() }),
  z.object({ kind: z.literal('tool-result'), toolUseId: z.string(), toolName: z.string().nullable(), isError: z.boolean(), text: z.string() }),
  z.object({
    kind: z.literal('result'),
    ok: z.boolean(),
    text: z.string().nullable(),
    turns: z.number().nullable(),
    costUsd: z.number().nullable(),
    durationMs: z.number().nullable(),
    inputTokens: z.number().nullable(),
    outputTokens: z.number().nullable(),
  }),
  z.object({ kind: z.literal('notice'), text: z.string() }),
]);
export type TaskStep = z.infer<typeof taskStepSchema>;

/** A step with its place in the task: `index` counts from 0 in order, `at` is epoch ms. */
export const taskStepRecordSchema = z.object({
  taskId: idSchema,
  index: z.number().int().nonnegative(),
  at: z.number(),
  step: taskStepSchema,
});
export type TaskStepRecord = z.infer<typeof taskStepRecordSchema>;

/**
 * Whether the user's key for an API is available on the host, never the key itself.
 * `source`: 'app' = stored in the app (safeStorage), 'env' = from the environment variable
 * `envVar`, null = missing. `stored` is true only for a key stored in the app.
 */
export const apiKeyStatusSchema = z.object({
  api: apiIdSchema,
  /** The API's name for people ("Anthropic"). */
  name: z.string(),
  envVar: z.string(),
  stored: z.boolean(),
  source: z.enum(['app', 'env']).nullable(),
});
export type ApiKeyStatus = z.infer<typeof apiKeyStatusSchema>;

/**
 * An API key as the user pastes it: surrounding whitespace trimmed, then 1..4096 printable ASCII
 * characters without spaces. Messages MUST NOT quote the key.
 */
export const apiKeyInputSchema = z.string().trim()
  .min(1, 'The API key is empty.')
  .max(4096, 'The API key is longer than 4096 characters.')
  .regex(/^[\x21-\x7e]+$/, 'An API key is printable ASCII characters without spaces or line breaks.');

/** One API call through the host gateway, as its audit log keeps it. Bytes count request body up, response body down. */
export const gatewayRecordSchema = z.object({
  time: z.string(),
  workspaceId: z.string(),
  taskId: z.string().nullable(),
  api: apiIdSchema,
  method: z.string(),
  /** The path asked for, without the query string. */
  endpoint: z.string(),
  decision: z.enum(['allowed', 'refused-endpoint', 'refused-unknown-caller', 'refused-no-key']),
  /** The status the guest got. */
  status: z.number().int().nullable(),
  bytesUp: z.number().int().nonnegative(),
  bytesDown: z.number().int().nonnegative(),
  inputTokens: z.number().nullable(),
  outputTokens: z.number().nullable(),
  durationMs: z.number().nonnegative(),
  /** Set when an allowed call failed on the way (upstream unreachable, guest went away...). */
  error: z.string().optional(),
});
export type GatewayRecordInfo = z.infer<typeof gatewayRecordSchema>;
