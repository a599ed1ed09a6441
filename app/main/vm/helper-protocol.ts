/**
 * The helper protocol's wire types (native/protocol/PROTOCOL.md), written once: zod schemas and
 * the TypeScript types inferred from them. The client checks every message a helper sends
 * against them, and checks its own VmSpec against `vmSpecSchema` before sending it.
 * helper-protocol.test.ts parses every line of the golden transcripts that the C and Swift
 * helpers replay with these schemas, so the fixtures and these types cannot drift apart.
 */
import { z } from 'zod';
import { errorInfoSchema } from '../../shared/errors.js';

/** The protocol version this client speaks. */
export const HELPER_PROTOCOL_VERSION = 1;

/** Integers that are ids, sizes or counts (§2): `[0, 2^53 - 1]`. */
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A request id (§3): a non-negative integer. Replies to unreadable lines carry `null`. */
export const requestIdSchema = count;

// ---- Closed sets. Each is a union the compiler checks: mappings over them `switch` with a
// `never` default, so a kind added here fails to compile until every mapping handles it.

/** Guest CPU architectures (§5.1 `guestArchs`, §5.2 `arch`). */
export const GUEST_ARCHS = ['x86_64', 'arm64'] as const;
export const guestArchSchema = z.enum(GUEST_ARCHS);
export type GuestArch = z.infer<typeof guestArchSchema>;

/** How a folder is shared (§5.1 `shareKinds`): virtio 9p (QEMU), virtiofs (VZ, QEMU + virtiofsd), Plan 9 over hvsocket (HCS). */
export const SHARE_KINDS = ['9p', 'virtiofs', 'hv9p'] as const;
export const shareKindSchema = z.enum(SHARE_KINDS);
export type ShareKind = z.infer<typeof shareKindSchema>;

/** What carries the agent channel and data channels (§5.1 `channelKinds`). */
export const CHANNEL_KINDS = ['vsock', 'virtio-serial', 'hvsocket'] as const;
export const channelKindSchema = z.enum(CHANNEL_KINDS);
export type ChannelKind = z.infer<typeof channelKindSchema>;

/** Disk image formats (§5.1 `diskFormats`, §5.2.1 `disks[].format`). */
export const DISK_FORMATS = ['raw', 'vhdx'] as const;
export const diskFormatSchema = z.enum(DISK_FORMATS);
export type DiskFormat = z.infer<typeof diskFormatSchema>;

/** Accelerators (§5.1 `accelerators`); main derives the guest's console device from the one `start` uses. */
export const ACCELERATORS = ['kvm', 'tcg', 'hvf', 'whp', 'hyperv', 'vz'] as const;
export const acceleratorSchema = z.enum(ACCELERATORS);
export type Accelerator = z.infer<typeof acceleratorSchema>;

/** VM states (§5.4, §6). */
export const VM_STATES = ['stopped', 'starting', 'running', 'stopping'] as const;
export const vmStateSchema = z.enum(VM_STATES);
export type VmState = z.infer<typeof vmStateSchema>;

/** Why a VM ended (§6 `exit.reason`). */
export const EXIT_REASONS = ['poweroff', 'stopped', 'forced', 'crashed'] as const;
export const exitReasonSchema = z.enum(EXIT_REASONS);
export type ExitReason = z.infer<typeof exitReasonSchema>;

/** An error (§3.1): the closed code set of app/shared/errors.ts, a message, optional native detail. */
export const helperErrorSchema = errorInfoSchema;
export type HelperError = z.infer<typeof helperErrorSchema>;

/** Protocol caps (§5.2, §5.2.1-5.2.2). */
export const MAX_SHARES = 8;
export const MAX_DISKS = 4;
export const MAX_DATA_CHANNELS = 4;

/**
 * A features list of kinds main names explicitly in `start` (§5.1): values this client does not
 * know are skipped, so a newer helper offering one more kind still works (main picks the best
 * kind it knows). `accelerators` is not read this way: `start` uses the first one, whatever it is.
 */
function offered<T extends string>(known: readonly T[]) {
  return z.array(z.string()).transform((list) => list.filter((v): v is T => (known as readonly string[]).includes(v)));
}

/** `hello` features (§5.1): capabilities as data; main branches on these, never on the helper's name. */
export const helperFeaturesSchema = z.object({
  accelerators: z.array(acceleratorSchema),
  guestArchs: offered(GUEST_ARCHS),
  shareKinds: offered(SHARE_KINDS),
  readOnlyShares: z.boolean(),
  channelKinds: offered(CHANNEL_KINDS),
  consoleLog: z.boolean(),
  snapshots: z.boolean(),
  maxCpus: count,
  maxMemoryMiB: count,
  // Added in session 2 without a version change (§5.1): a helper that predates them omits them,
  // which reads as "no disks, no data channels".
  /** Disk image formats `start` accepts, best first; [] = no disks. */
  diskFormats: offered(DISK_FORMATS).default([]),
  /** The host side enforces read-only disks. */
  readOnlyDisks: z.boolean().default(false),
  /** How many data channels `start` accepts (0 = none). */
  dataChannels: z.number().int().min(0).max(MAX_DATA_CHANNELS).default(0),
});
export type HelperFeatures = z.infer<typeof helperFeaturesSchema>;

/** `hello` params (§5.1). */
export const helloParamsSchema = z.object({ protocol: z.number().int(), client: z.string().optional() });
export type HelloParams = z.infer<typeof helloParamsSchema>;

/** The `hello` result (§5.1). */
export const helloResultSchema = z.object({
  protocol: z.literal(HELPER_PROTOCOL_VERSION),
  helper: z.string(),
  version: z.string(),
  hostArch: z.string(),
  available: z.boolean(),
  unavailableReason: z.string().nullable(),
  features: helperFeaturesSchema,
});
export type HelloResult = z.infer<typeof helloResultSchema>;

/** A channel endpoint a helper published: its kind and the host path or pipe name. */
export const channelEndpointSchema = z.object({ kind: channelKindSchema, path: z.string().min(1) });
export type ChannelEndpoint = z.infer<typeof channelEndpointSchema>;

/** A data channel endpoint a helper published (§5.2.2), in spec order. */
export const dataChannelEndpointSchema = channelEndpointSchema.extend({ name: z.string() });
export type DataChannelEndpoint = z.infer<typeof dataChannelEndpointSchema>;

/** The `start` result (§5.2); `dataChannels` is omitted (read as []) when none were asked. */
export const startResultSchema = z.object({
  state: z.literal('running'),
  accelerator: acceleratorSchema,
  channel: channelEndpointSchema,
  pid: count.optional(),
  dataChannels: z.array(dataChannelEndpointSchema).default([]),
});
export type StartResult = z.infer<typeof startResultSchema>;

/** `stop` params (§5.3): graceful with a deadline, or forced. */
export const stopParamsSchema = z.object({
  force: z.boolean().optional(),
  timeoutMs: z.number().int().min(0).max(600_000).optional(),
});
export type StopParams = z.infer<typeof stopParamsSchema>;

/** The `stop` result (§5.3). */
export const stopResultSchema = z.object({ state: z.literal('stopped'), forced: z.boolean() });
export type StopResult = z.infer<typeof stopResultSchema>;

/** The `status` result (§5.4); the other members exist only while a VM does. */
export const statusResultSchema = z.object({
  state: vmStateSchema,
  accelerator: acceleratorSchema.optional(),
  pid: count.optional(),
  uptimeMs: count.optional(),
});
export type StatusResult = z.infer<typeof statusResultSchema>;

// ---- The VmSpec (§5.2): main's side of the rules a helper can check without the file system or
// its features. What needs those (a path that exists, cpus ≤ maxCpus) only the helper checks.

/** The name rules of §5.2-5.2.2: a VM, a share tag, a disk id, a data channel name. */
export const VM_NAME = /^[A-Za-z0-9._-]{1,64}$/;
export const SHARE_TAG = /^[a-z][a-z0-9_-]{0,30}$/;
export const DISK_ID = /^[a-z][a-z0-9-]{0,19}$/;
export const DATA_CHANNEL_NAME = /^[a-z][a-z0-9-]{0,15}$/;
/** Caps of §5.2 in bytes: the command line, and a channel endpoint (the unix socket limit). */
export const MAX_CMDLINE_BYTES = 2048;
export const MAX_ENDPOINT_BYTES = 100;
export const MIN_MEMORY_MIB = 128;
/** The SSH channel's default guest port (§5.2 `guestPort`). */
export const DEFAULT_GUEST_PORT = 22;

/** True for an absolute path on any host: POSIX `/…`, Windows `C:\…`, or `\\server\…` and `\\.\pipe\…`. */
export function isAbsoluteHostPath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:\\/.test(p) || p.startsWith('\\\\');
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const absPath = z
  .string()
  .refine((p) => !p.includes('\0'), { message: 'must not contain NUL bytes' })
  .refine(isAbsoluteHostPath, { message: 'must be an absolute path' });
const endpointPath = absPath.refine((p) => bytes(p) <= MAX_ENDPOINT_BYTES, { message: `must be at most ${MAX_ENDPOINT_BYTES} bytes` });

/** A share of a VmSpec (§5.2); the guest mounts it by `tag`. */
export const vmShareSchema = z.object({ tag: z.string().regex(SHARE_TAG), hostPath: absPath, readOnly: z.boolean() });
export type VmShare = z.infer<typeof vmShareSchema>;

/** A block device of a VmSpec (§5.2.1); the guest sees disks in array order (/dev/vda… or /dev/sda… on HCS). */
export const vmDiskSchema = z.object({ id: z.string().regex(DISK_ID), hostPath: absPath, readOnly: z.boolean(), format: diskFormatSchema });
export type VmDisk = z.infer<typeof vmDiskSchema>;

/** A byte-stream channel beside the SSH channel (§5.2.2), of the same kind as the SSH channel. */
export const vmDataChannelSchema = z.object({
  name: z.string().regex(DATA_CHANNEL_NAME).refine((n) => n !== 'ssh', { message: 'must not be "ssh"' }),
  path: endpointPath,
  guestPort: z.number().int().min(1).max(0xfffffffe),
});
export type VmDataChannel = z.infer<typeof vmDataChannelSchema>;

/** Calls `clash(i, owner)` for each entry whose value an earlier entry (named `owner`) has. */
function unique<T>(entries: [T, string][], clash: (index: number, owner: string) => void): void {
  const seen = new Map<T, string>();
  entries.forEach(([value, name], i) => {
    const owner = seen.get(value);
    if (owner === undefined) seen.set(value, name);
    else clash(i, owner);
  });
}

/** `start` params (§5.2), with the cross-member rules of §5.2.1-5.2.2 (unique tags, ids, names, paths and ports). */
export const vmSpecSchema = z
  .object({
    name: z.string().regex(VM_NAME),
    arch: guestArchSchema.optional(),
    kernel: absPath,
    initrd: absPath,
    cmdline: z
      .string()
      .refine((c) => bytes(c) <= MAX_CMDLINE_BYTES, { message: `must be at most ${MAX_CMDLINE_BYTES} bytes` })
      .refine((c) => !/[\u0000-\u001f\u007f]/.test(c), { message: 'must not contain control characters' }),
    cpus: z.number().int().min(1),
    memoryMiB: z.number().int().min(MIN_MEMORY_MIB),
    shares: z.array(vmShareSchema).max(MAX_SHARES),
    shareKind: shareKindSchema.optional(),
    channelKind: channelKindSchema.optional(),
    channelPath: endpointPath,
    guestPort: z.number().int().min(1).max(65535).optional(),
    consoleLog: absPath,
    /** Only when features.diskFormats covers them (main checks before sending). */
    disks: z.array(vmDiskSchema).max(MAX_DISKS).optional(),
    /** Only up to features.dataChannels (main checks before sending). */
    dataChannels: z.array(vmDataChannelSchema).max(MAX_DATA_CHANNELS).optional(),
  })
  .superRefine((spec, ctx) => {
    const taken = (path: (string | number)[], message: string): void => void ctx.addIssue({ code: 'custom', path, message });
    unique(spec.shares.map((s, i): [string, string] => [s.tag, `shares[${i}].tag`]), (i, by) => taken(['shares', i, 'tag'], `is used by ${by} already`));
    const disks = spec.disks ?? [];
    unique(disks.map((d, i): [string, string] => [d.id, `disks[${i}].id`]), (i, by) => taken(['disks', i, 'id'], `is used by ${by} already`));
    const channels = spec.dataChannels ?? [];
    unique(channels.map((c, i): [string, string] => [c.name, `dataChannels[${i}].name`]), (i, by) => taken(['dataChannels', i, 'name'], `is used by ${by} already`));
    // The SSH channel's path and port come first, so a data channel reusing one is named.
    const paths: [string, string][] = [[spec.channelPath, 'channelPath'], [spec.consoleLog, 'consoleLog'], ...channels.map((c, i): [string, string] => [c.path, `dataChannels[${i}].path`])];
    unique(paths, (i, by) => taken(['dataChannels', i - 2, 'path'], `is the path of ${by} already`));
    const ports: [number, string][] = [[spec.guestPort ?? DEFAULT_GUEST_PORT, 'the SSH channel'], ...channels.map((c, i): [number, string] => [c.guestPort, `dataChannels[${i}]`])];
    unique(ports, (i, by) => taken(['dataChannels', i - 1, 'guestPort'], `is the guest port of ${by} already`));
  });
export type VmSpec = z.infer<typeof vmSpecSchema>;

/** The result schema of each method (§5), for the client and the fixture check. */
export const resultSchemas = {
  hello: helloResultSchema,
  start: startResultSchema,
  stop: stopResultSchema,
  status: statusResultSchema,
} as const;
export type HelperMethod = keyof typeof resultSchemas;

/** Events (§6). */
export const stateEventSchema = z.object({ event: z.literal('state'), state: vmStateSchema });
export const channelEventSchema = channelEndpointSchema.extend({ event: z.literal('channel') });
export const exitEventSchema = z.object({
  event: z.literal('exit'),
  reason: exitReasonSchema,
  exitCode: z.number().int().nullable(),
  message: z.string(),
});
export const knownEventSchema = z.discriminatedUnion('event', [stateEventSchema, channelEventSchema, exitEventSchema]);
export type KnownEvent = z.infer<typeof knownEventSchema>;
export type ExitEvent = z.infer<typeof exitEventSchema>;
/** How a VM ended: the `exit` event's members. */
export type VmExit = Omit<ExitEvent, 'event'>;

/** An event; unknown ones are passed on as `{event: 'unknown', name, raw}` (main MUST tolerate them). */
export type HelperEvent = KnownEvent | { event: 'unknown'; name: string; raw: Record<string, unknown> };

const KNOWN_EVENTS: ReadonlySet<string> = new Set(knownEventSchema.options.map((o) => o.shape.event.value));

/** Parses an event message; a malformed known event is `null` (a protocol error). */
export function parseEvent(msg: Record<string, unknown>): HelperEvent | null {
  const name = msg.event;
  if (typeof name !== 'string') return null;
  if (!KNOWN_EVENTS.has(name)) return { event: 'unknown', name, raw: msg };
  const r = knownEventSchema.safeParse(msg);
  return r.success ? r.data : null;
}
