/**
 * What the VM manager needs from one helper process (PROTOCOL.md), as a narrow port. The real
 * implementation wraps app/main/vm/helper-client.ts (helper-port-client.ts); unit tests of the
 * state machine use a scripted one. Shapes follow PROTOCOL.md §5-6.
 */

/** `hello` result members the manager branches on (features are data, never names). */
export interface HelperHello {
  helper: string;
  hostArch: string;
  available: boolean;
  unavailableReason: string | null;
  features: {
    accelerators: string[];
    guestArchs: string[];
    shareKinds: string[];
    readOnlyShares: boolean;
    channelKinds: string[];
    maxCpus: number;
    maxMemoryMiB: number;
    /** Disk formats `start` accepts, best first; missing or [] = no disks (PROTOCOL.md §5.1). */
    diskFormats?: string[];
    /** The host side enforces read-only disks; missing = false. */
    readOnlyDisks?: boolean;
    /** How many data channels `start` accepts; missing = 0. */
    dataChannels?: number;
  };
}

/** The `start` params (a VmSpec). */
export interface HelperVmSpec {
  name: string;
  arch: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  cpus: number;
  memoryMiB: number;
  shares: Array<{ tag: string; hostPath: string; readOnly: boolean }>;
  shareKind: string;
  channelKind: string;
  channelPath: string;
  consoleLog: string;
  guestPort?: number;
  disks?: Array<{ id: string; hostPath: string; readOnly: boolean; format: string }>;
  dataChannels?: Array<{ name: string; path: string; guestPort: number }>;
}

/** The `start` result. */
export interface HelperStartResult {
  state: string;
  accelerator: string;
  channel: { kind: string; path: string };
  pid?: number;
  /** The data channel endpoints, in spec order ([] when none were asked). */
  dataChannels?: Array<{ name: string; kind: string; path: string }>;
}

/** The `exit` event: the VM ended (poweroff, stopped, forced, crashed). */
export interface HelperExitInfo {
  reason: string;
  exitCode: number | null;
  message: string;
}

/** One running helper process. Every method rejects with a VivError carrying the protocol error code. */
export interface HelperPort {
  hello(): Promise<HelperHello>;
  start(spec: HelperVmSpec): Promise<HelperStartResult>;
  stop(o: { force: boolean; timeoutMs: number }): Promise<{ forced: boolean }>;
  /** Called once per boot when the VM ends, whatever the cause. */
  onVmExit(listener: (info: HelperExitInfo) => void): void;
  /** Called if the helper process itself dies; `detail` holds its stderr tail. */
  onHelperExit(listener: (detail: string) => void): void;
  /** Closes stdin (the helper stops its VM and exits) and waits for the process to end. */
  close(): Promise<void>;
}

/** Spawns a helper process and returns its port. */
export type HelperFactory = () => Promise<HelperPort>;
