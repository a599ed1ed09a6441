/**
 * Wire types of the helper protocol (native/protocol/PROTOCOL.md), as zod schemas so the client
 * checks what a helper sends instead of trusting it. Unknown members are allowed (§2).
 */
import { z } from 'zod';

/** The protocol version this client speaks. */
export const HELPER_PROTOCOL_VERSION = 1;

const nonNegInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Protocol caps of the optional VmSpec arrays (PROTOCOL.md §5.2.1-5.2.2). */
export const MAX_DISKS = 4;
export const MAX_DATA_CHANNELS = 4;

/** `hello` features (§5.1): capabilities as data; main branches on these, never on the helper's name. */
export const helperFeaturesSchema = z.looseObject({
  accelerators: z.array(z.string()),
  guestArchs: z.array(z.enum(['x86_64', 'arm64'])),
  shareKinds: z.array(z.string()),
  readOnlyShares: z.boolean(),
  channelKinds: z.array(z.string()),
  consoleLog: z.boolean(),
  snapshots: z.boolean(),
  maxCpus: nonNegInt,
  maxMemoryMiB: nonNegInt,
  // Added in session 2 without a version change (PROTOCOL.md §5.1): a helper that predates them
  // omits them, which reads as "no disks, no data channels".
  /** Disk image formats `start` accepts, best first; [] = no disks. */
  diskFormats: z.array(z.string()).default([]),
  /** The host side enforces read-only disks. */
  readOnlyDisks: z.boolean().default(false),
  /** How many data channels `start` accepts (0 = none). */
  dataChannels: z.number().int().min(0).max(MAX_DATA_CHANNELS).default(0),
});
export type HelperFeatures = z.infer<typeof helperFeaturesSchema>;

/** The `hello` result. */
export const helloResultSchema = z.looseObject({
  protocol: z.literal(HELPER_PROTOCOL_VERSION),
  helper: z.string(),
  version: z.string(),
  hostArch: z.string(),
  available: z.boolean(),
  unavailableReason: z.string().nullable(),
  features: helperFeaturesSchema,
});
export type HelloResult = z.infer<typeof helloResultSchema>;

/** VM states (§5.4). */
export const vmStateSchema = z.enum(['stopped', 'starting', 'running', 'stopping']);
export type VmState = z.infer<typeof vmStateSchema>;

/** A share of a VmSpec. */
export interface VmShare {
  tag: string;
  hostPath: string;
  readOnly: boolean;
}

/**
 * A block device of a VmSpec (§5.2.1). `id` matches [a-z][a-z0-9-]{0,19} (QEMU uses it as the
 * serial); the guest sees disks in array order as /dev/vda, /dev/vdb... (QEMU, VZ) or /dev/sda...
 * (HCS). `readOnly` is enforced on the host side; `format` is one of features.diskFormats.
 */
export interface VmDisk {
  id: string;
  hostPath: string;
  readOnly: boolean;
  format: string;
}

/**
 * A byte-stream channel beside the SSH channel (§5.2.2): `name` matches [a-z][a-z0-9-]{0,15}
 * (not "ssh"); on virtio-serial the guest port is named `vivarium.<name>`; on vsock/hvsocket
 * every host connection to `path` reaches `guestPort` in the guest.
 */
export interface VmDataChannel {
  name: string;
  path: string;
  guestPort: number;
}

/** `start` params (§5.2). The helper validates every member; see PROTOCOL.md for the rules. */
export interface VmSpec {
  name: string;
  arch?: 'x86_64' | 'arm64';
  kernel: string;
  initrd: string;
  cmdline?: string;
  cpus: number;
  memoryMiB: number;
  shares?: VmShare[];
  shareKind?: string;
  channelKind?: string;
  channelPath: string;
  guestPort?: number;
  consoleLog: string;
  /** Only when features.diskFormats covers them (main checks before sending). */
  disks?: VmDisk[];
  /** Only up to features.dataChannels (main checks before sending). */
  dataChannels?: VmDataChannel[];
}

/** The agent-channel endpoint a helper published. */
export const channelSchema = z.looseObject({ kind: z.string(), path: z.string() });

/** A data channel endpoint a helper published (in spec order). */
export const dataChannelResultSchema = z.looseObject({ name: z.string(), kind: z.string(), path: z.string() });

/** The `start` result; `dataChannels` is omitted (read as []) when none were asked. */
export const startResultSchema = z.looseObject({
  state: z.literal('running'),
  accelerator: z.string(),
  channel: channelSchema,
  pid: nonNegInt.optional(),
  dataChannels: z.array(dataChannelResultSchema).default([]),
});
export type StartResult = z.infer<typeof startResultSchema>;

/** The `stop` result. */
export const stopResultSchema = z.looseObject({ state: z.literal('stopped'), forced: z.boolean() });
export type StopResult = z.infer<typeof stopResultSchema>;

/** The `status` result. */
export const statusResultSchema = z.looseObject({
  state: vmStateSchema,
  accelerator: z.string().optional(),
  pid: nonNegInt.optional(),
  uptimeMs: nonNegInt.optional(),
});
export type StatusResult = z.infer<typeof statusResultSchema>;

/** Events (§6). Unknown events are passed on as `{event, ...}` and MUST be tolerated. */
export const exitReasonSchema = z.enum(['poweroff', 'stopped', 'forced', 'crashed']);
export type HelperEvent =
  | { event: 'state'; state: VmState }
  | { event: 'channel'; kind: string; path: string }
  | { event: 'exit'; reason: z.infer<typeof exitReasonSchema>; exitCode: number | null; message: string }
  | { event: 'unknown'; name: string; raw: Record<string, unknown> };

const knownEventSchema = z.discriminatedUnion('event', [
  z.looseObject({ event: z.literal('state'), state: vmStateSchema }),
  z.looseObject({ event: z.literal('channel'), kind: z.string(), path: z.string() }),
  z.looseObject({
    event: z.literal('exit'),
    reason: exitReasonSchema,
    exitCode: z.number().int().nullable(),
    message: z.string(),
  }),
]);

/** Parses an event message; malformed known events become `null` (a protocol error). */
export function parseEvent(msg: Record<string, unknown>): HelperEvent | null {
  const name = msg.event;
  if (typeof name !== 'string') return null;
  if (name !== 'state' && name !== 'channel' && name !== 'exit') return { event: 'unknown', name, raw: msg };
  const r = knownEventSchema.safeParse(msg);
  if (!r.success) return null;
  const e = r.data;
  if (e.event === 'state') return { event: 'state', state: e.state };
  if (e.event === 'channel') return { event: 'channel', kind: e.kind, path: e.path };
  return { event: 'exit', reason: e.reason, exitCode: e.exitCode, message: e.message };
}
