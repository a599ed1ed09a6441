/**
 * Disks and data channels of a boot (PROTOCOL.md §5.2.1-5.2.3), main's side: what callers ask
 * for, checked against the helper's `hello` features before `start`, so a helper that lacks a
 * feature gets a plain `unsupported` error naming it instead of a request it would ignore.
 */
import { join } from 'node:path';
import { VivError } from '../../shared/errors.js';
import type { HelperHello, HelperVmSpec } from './helper-port.js';
import { MAX_DATA_CHANNELS, MAX_DISKS } from './helper-protocol.js';

/**
 * A disk for a boot. `id`: [a-z][a-z0-9-]{0,19}, unique (QEMU's serial). `hostPath`: an existing
 * image file. `readOnly`: enforced by the host (the guest cannot change the file). `format`:
 * default 'raw'; it must be in the helper's features.diskFormats (hcs-helper offers 'vhdx').
 */
export interface DiskSpec {
  id: string;
  hostPath: string;
  readOnly: boolean;
  format?: string;
}

/** A published data channel: its kind (the SSH channel's) and the host endpoint. */
export interface DataChannelInfo {
  name: string;
  kind: string;
  path: string;
}

const DISK_ID = /^[a-z][a-z0-9-]{0,19}$/;
const CHANNEL_NAME = /^[a-z][a-z0-9-]{0,15}$/;

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
export function checkDeviceFeatures(hello: HelperHello, disks: DiskSpec[], channels: string[]): NonNullable<HelperVmSpec['disks']> {
  const f = hello.features;
  if (disks.length > MAX_DISKS) throw new VivError('invalidArgument', `At most ${MAX_DISKS} disks can be attached (asked for ${disks.length}).`);
  if (channels.length > MAX_DATA_CHANNELS) throw new VivError('invalidArgument', `At most ${MAX_DATA_CHANNELS} data channels are possible (asked for ${channels.length}).`);
  const ids = new Set<string>();
  const out = disks.map((d) => {
    if (!DISK_ID.test(d.id) || ids.has(d.id)) throw new VivError('invalidArgument', `Disk id "${d.id}" must match [a-z][a-z0-9-]{0,19} and be unique.`);
    ids.add(d.id);
    const format = d.format ?? 'raw';
    const offered = f.diskFormats ?? [];
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
    if (!CHANNEL_NAME.test(n) || n === 'ssh' || names.has(n)) throw new VivError('invalidArgument', `Data channel name "${n}" must match [a-z][a-z0-9-]{0,15}, not be "ssh" and be unique.`);
    names.add(n);
  }
  const max = f.dataChannels ?? 0;
  if (channels.length > max) {
    throw new VivError('unsupported', `The VM helper ${hello.helper} offers ${max} data channel${max === 1 ? '' : 's'} (feature dataChannels); ${channels.join(', ')} need${channels.length === 1 ? 's' : ''} ${channels.length}.`);
  }
  return out;
}

/** The VmSpec data channels: endpoint `<runDir>/<name>.sock` (private 0700 dir) and guest port. */
export function dataChannelSpecs(runDir: string, channels: string[]): NonNullable<HelperVmSpec['dataChannels']> {
  return channels.map((name, i) => ({ name, path: join(runDir, `${name}.sock`), guestPort: dataChannelGuestPort(name, i) }));
}
