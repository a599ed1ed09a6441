/**
 * The port between the window API and the core: exactly what the contract's handlers need,
 * expressed in the contract's shapes. core-adapter.ts implements it on the core facade; unit
 * tests implement it in memory. Every method MAY throw a VivError, which reaches the user.
 */
import type {
  AgentProfile, ApiIdInfo, ApiKeyStatus, BootProgress, ConsentInspection, EgressAnswer, EgressLog, EgressPolicy, EgressPromptInfo, GatewayRecordInfo, ShareMode,
  TaskOutputChunk, TaskSnapshot, TaskStepRecord, VmSettingsUpdate, VmSnapshot, WorkspaceSnapshot,
} from '../../shared/contract-schemas.js';
import type { EventName, EventPayload } from '../../shared/contract.js';

/** An open interactive shell. `close` MUST be idempotent. */
export interface PtyHandle {
  write(data: string): void;
  resize(cols: number, rows: number): void;
  close(): void;
}

/** Callbacks of one PTY; `onExit` is called once, also after `close`. */
export interface PtyCallbacks {
  onData(data: string): void;
  onExit(exitCode: number | null): void;
}

/** A broadcast event from the core (workspace and task changes, task output). */
export type CoreEvent = { [E in EventName]: { event: E; payload: EventPayload<E> } }[EventName];

/** What the window API needs from the core. */
export interface WindowCore {
  listWorkspaces(): Promise<WorkspaceSnapshot[]>;
  inspectFolder(path: string): Promise<ConsentInspection>;
  /** MUST re-inspect and refuse when warnings exist and `confirmWarnings` is false. */
  createWorkspace(path: string, mode: ShareMode, confirmWarnings: boolean): Promise<WorkspaceSnapshot>;
  removeWorkspace(workspaceId: string): Promise<void>;
  revokeGrant(workspaceId: string): Promise<WorkspaceSnapshot>;
  startVm(workspaceId: string): Promise<VmSnapshot>;
  stopVm(workspaceId: string, force: boolean): Promise<VmSnapshot>;
  /** keepState absent = unchanged. */
  updateSettings(workspaceId: string, settings: VmSettingsUpdate): Promise<WorkspaceSnapshot>;
  /** Deletes the saved state disk of a stopped VM; false when there was none. */
  discardVmState(workspaceId: string): Promise<boolean>;
  listTasks(workspaceId: string): Promise<TaskSnapshot[]>;
  startTask(workspaceId: string, command: string, profileId: string | null): Promise<TaskSnapshot>;
  cancelTask(taskId: string): Promise<TaskSnapshot>;
  readTaskOutput(taskId: string, offset: number, maxBytes: number): Promise<TaskOutputChunk & { truncated: boolean }>;
  /** An agent task's steps so far, in order (none for plain commands). */
  taskSteps(taskId: string): Promise<TaskStepRecord[]>;
  listProfiles(): Promise<AgentProfile[]>;
  openPty(workspaceId: string, cols: number, rows: number, callbacks: PtyCallbacks): Promise<PtyHandle>;
  /** MUST validate every pattern (invalidArgument naming the bad one) and apply it to a running VM. */
  setEgress(workspaceId: string, policy: EgressPolicy): Promise<WorkspaceSnapshot>;
  egressPrompts(workspaceId: string): Promise<EgressPromptInfo[]>;
  answerEgress(workspaceId: string, promptId: string, answer: EgressAnswer): Promise<boolean>;
  egressLog(taskId: string): Promise<EgressLog>;
  exportEgressLog(taskId: string): Promise<{ taskId: string; jsonLines: string }>;
  /** Key statuses; MUST NOT return a key. */
  listKeys(): Promise<ApiKeyStatus[]>;
  /** MUST validate the key and refuse (saying why) where it cannot be stored safely. */
  setKey(api: ApiIdInfo, key: string): Promise<ApiKeyStatus>;
  clearKey(api: ApiIdInfo): Promise<ApiKeyStatus>;
  /** A task's calls through the API gateway. */
  gatewayLog(taskId: string): Promise<GatewayRecordInfo[]>;
  /** Delivers every broadcast event until the returned function is called. */
  subscribe(listener: (event: CoreEvent) => void): () => void;
  /** Delivers boot steps of every VM until the returned function is called. */
  onBootProgress(listener: (progress: BootProgress) => void): () => void;
}
