/**
 * Disks and data channels of a boot (PROTOCOL.md §5.2.1-5.2.3), main's side: what callers ask
 * for, checked against the helper's `hello` features before `start`, so a helper that lacks a
 * feature gets a plain `unsupported` error naming it instead of a request it would ignore.
 */
import { VivError } from '../../shared/errors.js';
import {
  DATA_CHANNEL_NAME, DISK_ID, MAX_DATA_CHANNELS, MAX_DISKS, type ChannelKind, type DataChannelEndpoint, type DiskFormat, type HelloResult, type VmDataChannel, type VmDisk,
} from './helper-protocol.js';

/**
 * A disk for a boot. `id`: [a-z][a-z0-9-]{0,19}, unique (QEMU's serial). `hostPath`: an existing
 * image file. `readOnly`: enforced by the host (the guest cannot change the file). `format`:
 * default 'raw'; it must be in the helper's features.diskFormats (hcs-helper offers 'vhdx').
 */
export interface DiskSpec {
  id: string;
  hostPath: string;
  readOnly: boolean;
  format?: DiskFormat;
}

/** A published data channel: its kind (the SSH channel's) and the host endpoint. */
export type DataChannelInfo = DataChannelEndpoint;

/** Guest vsock ports of well-known data channels; the guest's defaults (guest-image/init). */
const WELL_KNOWN_PORTS: Record<string, number> = { egress: 3128 + 0x10000 };

/**
 * The guest port of data channel `name` at position `index` (vsock/hvsocket only): the guest's
 * default for a well-known name (egress: 68664), else 0x12000 + index. Never the SSH port (22).
 */
export function dataChannelGuestPort(name: string, index: number): number {
  return WELL_KNOWN_PORTS[name] ?? 0x12000 + index;
}

/**
 * Checks disks and data channel names against the rules and the helper's features; returns
 * the disks as the VmSpec carries them (format filled in). Throws `invalidArgument` for a bad
 * request and `unsupported`, naming the helper and the feature, for what it cannot do.
 */
export function checkDeviceFeatures(hello: HelloResult, disks: DiskSpec[], channels: string[]): VmDisk[] {
  const f = hello.features;
  if (disks.length > MAX_DISKS) throw new VivError('invalidArgument', `At most ${MAX_DISKS} disks can be attached (asked for ${disks.length}).`);
  if (channels.length > MAX_DATA_CHANNELS) throw new VivError('invalidArgument', `At most ${MAX_DATA_CHANNELS} data channels are possible (asked for ${channels.length}).`);
  const ids = new Set<string>();
  const out = disks.map((d) => {
    if (!DISK_ID.test(d.id) || ids.has(d.id)) throw new VivError('invalidArgument', `Disk id "${d.id}" must match [a-z][a-z0-9-]{0,19} and be unique.`);
    ids.add(d.id);
    const format = d.format ?? 'raw';
    const offered = f.diskFormats;
    if (!offered.includes(format)) {
      throw new VivError('unsupported', `The VM helper ${hello.helper} cannot attach ${format} disks (its diskFormats feature: ${offered.length ? offered.join(', ') : 'none'}).`);
    }
    if (d.readOnly && !f.readOnlyDisks) {
      throw new VivError('unsupported', `The VM helper ${hello.helper} cannot enforce read-only disks (feature readOnlyDisks); refusing to attach ${d.hostPath}.`);
    }
    return { id: d.id, hostPath: d.hostPath, readOnly: d.readOnly, format };
  });
  const names = new Set<string>();
  for (const n of channels) {
    if (!DATA_CHANNEL_NAME.test(n) || n === 'ssh' || names.has(n)) throw new VivError('invalidArgument', `Data channel name "${n}" must match [a-z][a-z0-9-]{0,15}, not be "ssh" and be unique.`);
    names.add(n);
  }
  const max = f.dataChannels;
  if (channels.length > max) {
    throw new VivError('unsupported', `The VM helper ${hello.helper} offers ${max} data channel${max === 1 ? '' : 's'} (feature dataChannels); ${channels.join(', ')} need${channels.length === 1 ? 's' : ''} ${channels.length}.`);
  }
  return out;
}

/** The VmSpec data channels: each name with its host endpoint (`paths`, same order) and guest port. */
export function dataChannelSpecs(channels: readonly string[], paths: readonly string[]): VmDataChannel[] {
  return channels.map((name, i) => {
    const path = paths[i];
    if (path === undefined) throw new VivError('internal', `No endpoint path for data channel "${name}".`);
    return { name, path, guestPort: dataChannelGuestPort(name, i) };
  });
}

/** The published endpoint of each asked data channel; a helper that skipped one is an internal error naming it. */
export function publishedDataChannels(helper: string, kind: ChannelKind, asked: readonly VmDataChannel[], published: readonly DataChannelEndpoint[]): DataChannelInfo[] {
  return asked.map((want) => {
    const got = published.find((d) => d.name === want.name);
    if (!got) throw new VivError('internal', `The VM helper ${helper} did not publish the data channel "${want.name}" it was asked for.`);
    if (got.kind !== kind) throw new VivError('internal', `The VM helper ${helper} published data channel "${want.name}" as ${got.kind}, not ${kind} like the SSH channel.`);
    return { name: got.name, kind: got.kind, path: got.path };
  });
}
