/**
 * The one IPC contract between the window and main (STYLE.md rule 2). Every invoke method and
 * every push event is written here once, with zod schemas; the preload, the harness shim and
 * main's handlers are all derived from these tables. Names are `domain:verb`.
 *
 * Results cross as `{ok: true, value} | {ok: false, error: {code, message, cause}}` because
 * Electron forwards only an Error's message; the client side rebuilds a VivError.
 */
import { z } from 'zod';
import { errorInfoSchema } from './errors.js';
import {
  agentProfileSchema, apiIdSchema, apiKeyInputSchema, apiKeyStatusSchema, bootProgressSchema, consentInspectionSchema, egressAnswerSchema, egressLogSchema, egressPolicySchema,
  egressPromptSchema, egressPromptSettledSchema, egressRecordSchema, gatewayRecordSchema, idSchema, shareModeSchema, taskOutputChunkSchema,
  taskSnapshotSchema, taskStepRecordSchema, terminalSizeSchema, vmSettingsSchema, vmSnapshotSchema, workspaceSnapshotSchema,
} from './contract-schemas.js';

const noInput = z.void();
const done = z.null();
const workspaceRef = z.object({ workspaceId: idSchema });
const taskRef = z.object({ taskId: idSchema });
const ptyRef = z.object({ ptyId: idSchema });
/** Longest folder path accepted (Linux PATH_MAX). */
const folderPath = z.string().min(1).max(4096);

/** One invoke method: the schema of its single argument and of its result value. */
export interface MethodSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  input: I;
  output: O;
}

function method<I extends z.ZodType, O extends z.ZodType>(input: I, output: O): MethodSpec<I, O> {
  return { input, output };
}

/** Every invoke method of the window API. */
export const methods = {
  'workspace:list': method(noInput, z.array(workspaceSnapshotSchema)),
  /** Grants the folder and creates its workspace. MUST fail unless the folder still inspects the same. */
  'workspace:create': method(
    z.object({ path: folderPath, mode: shareModeSchema, confirmWarnings: z.boolean() }).strict(),
    workspaceSnapshotSchema,
  ),
  /** Forgets a workspace: stops its VM, cancels its tasks, drops the grant. */
  'workspace:remove': method(workspaceRef.strict(), done),
  /** What granting this folder would mean; never grants anything. */
  'consent:inspect': method(z.object({ path: folderPath }).strict(), consentInspectionSchema),
  /** Withdraws consent: the VM stops and running tasks are cancelled. */
  'grant:revoke': method(workspaceRef.strict(), workspaceSnapshotSchema),
  'vm:start': method(workspaceRef.strict(), vmSnapshotSchema),
  'vm:stop': method(workspaceRef.extend({ force: z.boolean() }).strict(), vmSnapshotSchema),
  'task:list': method(workspaceRef.strict(), z.array(taskSnapshotSchema)),
  /** Queues a task: a shell command, or a profile with its prompt. */
  'task:start': method(
    workspaceRef.extend({
      command: z.string().max(100_000),
      profileId: idSchema.nullable(),
    }).strict(),
    taskSnapshotSchema,
  ),
  'task:cancel': method(taskRef.strict(), taskSnapshotSchema),
  /** The log from `offset` on, at most `maxBytes` of it (the tail when it is longer). */
  'task:output': method(
    taskRef.extend({
      offset: z.number().int().nonnegative(),
      maxBytes: z.number().int().min(1).max(16 * 1024 * 1024),
    }).strict(),
    taskOutputChunkSchema.extend({ truncated: z.boolean() }),
  ),
  /** An agent task's steps so far (assistant text, tool uses and results, the final result), in order. */
  'task:steps': method(taskRef.strict(), z.array(taskStepRecordSchema)),
  'profile:list': method(noInput, z.array(agentProfileSchema)),
  /** Opens an interactive shell in the workspace's running VM. */
  'pty:open': method(workspaceRef.extend(terminalSizeSchema.shape).strict(), z.object({ ptyId: idSchema })),
  'pty:write': method(ptyRef.extend({ data: z.string().max(1024 * 1024) }).strict(), done),
  'pty:resize': method(ptyRef.extend(terminalSizeSchema.shape).strict(), done),
  'pty:close': method(ptyRef.strict(), done),
  /**
   * Opens the system's folder picker (desktop app only; the browser harness answers
   * `unsupported`). `path` is null when the user cancelled. Picking grants nothing.
   */
  'folder:pick': method(noInput, z.object({ path: folderPath.nullable() })),
  /** Sets CPUs, memory and (when given) keepState; they apply at the next VM start. */
  'settings:update': method(
    workspaceRef.extend({ ...vmSettingsSchema.shape, keepState: z.boolean().optional() }).strict(),
    workspaceSnapshotSchema,
  ),
  /** Deletes the VM's saved state disk (keepState); the VM must be stopped. `discarded` false = there was none. */
  'settings:discardState': method(workspaceRef.strict(), z.object({ discarded: z.boolean() })),
  /** Sets the network policy (off or an allowlist); a bad pattern fails naming it. Applies at once. */
  'workspace:setEgress': method(workspaceRef.extend({ policy: egressPolicySchema }).strict(), workspaceSnapshotSchema),
  /** The blocked requests of the workspace's VM waiting for the user now, oldest first. */
  'egress:prompts': method(workspaceRef.strict(), z.array(egressPromptSchema)),
  /** Answers a prompt; `answered` is false when it no longer waits (expired, answered elsewhere). */
  'egress:answer': method(
    workspaceRef.extend({ promptId: idSchema, answer: egressAnswerSchema }).strict(),
    z.object({ answered: z.boolean() }),
  ),
  /** A task's network log (every proxied request it made). */
  'egress:log': method(taskRef.strict(), egressLogSchema),
  /** The same log as JSON lines (one record per line), for saving to a file. */
  'egress:export': method(taskRef.strict(), z.object({ taskId: idSchema, jsonLines: z.string() })),
  /** Whether each API's key is available on the host (never the key itself). */
  'keys:list': method(noInput, z.array(apiKeyStatusSchema)),
  /** Stores (or replaces) the user's key for an API in the app; the reply never carries the key. */
  'keys:set': method(z.object({ api: apiIdSchema, key: apiKeyInputSchema }).strict(), apiKeyStatusSchema),
  /** Forgets the key stored in the app (an environment variable, if set, still applies). */
  'keys:clear': method(z.object({ api: apiIdSchema }).strict(), apiKeyStatusSchema),
  /** A task's API calls through the host gateway, oldest first. */
  'gateway:log': method(taskRef.strict(), z.array(gatewayRecordSchema)),
} as const satisfies Record<string, MethodSpec>;

/** Every push event from main to the window, with its payload schema. */
export const events = {
  /** A workspace changed (VM state, grant, settings) or appeared. */
  'workspace:changed': workspaceSnapshotSchema,
  'workspace:removed': workspaceRef,
  /** A starting VM reached a new boot step. */
  'vm:progress': bootProgressSchema,
  'task:changed': taskSnapshotSchema,
  /** New task output, throttled by the core. */
  'task:output': taskOutputChunkSchema,
  /** An agent task completed a step (in order; `index` lets a viewer drop steps it already has). */
  'task:step': taskStepRecordSchema,
  'pty:data': ptyRef.extend({ data: z.string() }),
  'pty:exit': ptyRef.extend({ exitCode: z.number().int().nullable() }),
  /** The shell asks the window to show a workspace or task (a notification or tray click). */
  'app:focus': z.object({ workspaceId: idSchema, taskId: idSchema.nullable() }),
  /** A task reached a blocked host; the request waits for `egress:answer` until the prompt expires. */
  'egress:prompt': egressPromptSchema,
  /** A prompt stopped waiting (answered here or elsewhere, expired, its request went away). */
  'egress:promptSettled': egressPromptSettledSchema,
  /** A proxied request finished (throttled by the core: at most a few per second per VM). */
  'egress:record': egressRecordSchema,
} as const satisfies Record<string, z.ZodType>;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type MethodInput<N extends MethodName> = z.input<Methods[N]['input']>;
export type MethodOutput<N extends MethodName> = z.output<Methods[N]['output']>;
export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]>;

/** The IPC channel that carries push events (one channel; the event name travels inside). */
export const EVENT_CHANNEL = 'vivarium:event';

/** The result envelope of every invoke call. */
export const resultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: errorInfoSchema }),
]);
export type Result = z.infer<typeof resultSchema>;

/** The envelope of a push event. */
export const eventEnvelopeSchema = z.object({ event: z.string(), payload: z.unknown() });
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

/** All method names, in table order. */
export const methodNames = Object.keys(methods) as MethodName[];
/** All event names, in table order. */
export const eventNames = Object.keys(events) as EventName[];

/** True when `name` is a method of the contract (checks untrusted channel names). */
export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.hasOwn(methods, name);
}

/** True when `name` is an event of the contract. */
export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.hasOwn(events, name);
}
