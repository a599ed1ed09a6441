/**
 * The per-VM part of the guest's initrd and kernel command line.
 *
 * The base initramfs (shared, read-only, digest-checked) is followed by zero padding to a 4-byte
 * boundary and a small uncompressed cpio "segment" holding this VM's secrets and options. The
 * kernel unpacks both archives in order (BACKENDS 4.4); the guest's init reads `/vivarium/*`.
 * Format documented in guest-image/README.md ("Per-VM segment").
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VivError } from '../../shared/errors.js';
import type { Accelerator, ChannelKind, ShareKind } from '../vm/helper-protocol.js';
import type { GuestArch } from './guest-image.js';
import { dropbearHostKey } from './vm-keys.js';

/** What goes into one VM's segment. */
export interface VmSegmentInput {
  /** authorized_keys content: one or more `ssh-ed25519 AAAA...` lines (the VM's client key). */
  authorizedKeys: string;
  /** The guest host private key, OpenSSH PEM (converted to dropbear format here). */
  hostPrivateKey: string;
  /** Free-form `key=value` options for init (keys `[a-z0-9_.-]+`, values one line). */
  options?: Record<string, string>;
}

/** One entry of a newc cpio archive. */
interface CpioEntry {
  name: string;
  mode: number; // full st_mode (type bits + permissions)
  data?: Buffer;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** Builds the segment: an uncompressed newc cpio with /vivarium/{authorized_keys,dropbear_host_key,options}. */
export function buildVmSegment(input: VmSegmentInput): Buffer {
  const keys = input.authorizedKeys.trim();
  if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+/m.test(keys)) {
    throw new VivError('invalidArgument', 'authorizedKeys holds no SSH public key line');
  }
  const lines: string[] = [];
  for (const [k, v] of Object.entries(input.options ?? {})) {
    if (!/^[a-z0-9_.-]+$/.test(k)) throw new VivError('invalidArgument', `Guest option name "${k}" must match [a-z0-9_.-]+`);
    if (/[\n\r\0]/.test(v)) throw new VivError('invalidArgument', `Guest option "${k}" must be a single line`);
    lines.push(`${k}=${v}`);
  }
  return cpioNewc([
    { name: 'vivarium', mode: S_IFDIR | 0o700 },
    { name: 'vivarium/authorized_keys', mode: S_IFREG | 0o600, data: Buffer.from(keys + '\n') },
    { name: 'vivarium/dropbear_host_key', mode: S_IFREG | 0o600, data: dropbearHostKey(input.hostPrivateKey) },
    { name: 'vivarium/options', mode: S_IFREG | 0o600, data: Buffer.from(lines.map((l) => l + '\n').join('')) },
  ]);
}

/** Serialises entries as a newc ("070701") cpio archive with a TRAILER!!! entry; uid/gid 0, mtime 0. */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 0x7f0000; // far from the base archive's inode numbers; only matters for nlink > 1
  const push = (e: CpioEntry, nlink: number): void => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(e.name + '\0');
    const fields = [ino++, e.mode, 0, 0, nlink, 0, data.length, 0, 0, 0, 0, name.length, 0];
    const header = '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('');
    parts.push(Buffer.from(header, 'latin1'), name, pad4(110 + name.length), data, pad4(data.length));
  };
  for (const e of entries) push(e, (e.mode & S_IFDIR) === S_IFDIR ? 2 : 1);
  push({ name: 'TRAILER!!!', mode: 0 }, 1);
  return Buffer.concat(parts);
}

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

/**
 * Writes the per-VM initrd: base initramfs + zero padding to 4 bytes + segment. The file appears
 * atomically (temp file in the same folder, fsync, rename) with mode 0600; on failure nothing is left.
 */
export async function writeVmInitrd(baseInitramfs: string, segment: Buffer, dest: string): Promise<void> {
  let base: Buffer;
  try {
    base = await readFile(baseInitramfs);
  } catch (e) {
    throw new VivError('notFound', `Guest initramfs ${baseInitramfs} cannot be read; run \`npm run guest:build\``, e);
  }
  const tmp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(Buffer.concat([base, pad4(base.length), segment]));
    await fh.sync();
    await fh.close();
    await rename(tmp, dest);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw new VivError('internal', `Could not write the VM initrd ${dest}`, e);
  }
}

/** How /workspace is shared: a helper's share kind (PROTOCOL.md §5.1), or none. */
export type GuestShareKind = ShareKind | 'none';

/** Options for `guestCmdline`. */
export interface GuestCmdlineOptions {
  shareKind: GuestShareKind;
  readOnly: boolean;
  /** The helper's channel kind; init serves SSH on what carries it (`guestChannelParams`). */
  channelKind: ChannelKind;
  /** Guest AF_VSOCK port the SSH server listens on (vsock and hvsocket channels). Default 22. */
  vsockPort?: number;
  /** Host (CID 2) vsock port of the Hyper-V Plan 9 server (shareKind 'hv9p'). Default 50001. */
  hv9pPort?: number;
  /** Plan 9 share name (`aname`) for hv9p: the share's tag. Default "workspace". */
  hv9pAname?: string;
  /** The accelerator `start` uses; it decides the console device (`guestConsole`). */
  accelerator?: Accelerator;
  /** Console device; overrides the one the accelerator implies. */
  console?: string;
  arch?: GuestArch;
  /** Verbose boot: kernel log on the console and init tracing. */
  debug?: boolean;
  /** Extra kernel parameters appended verbatim (e.g. HCS's 8250_core options). */
  extra?: string[];
}

function unmapped(kind: never, what: string): never {
  throw new VivError('internal', `No guest mapping for ${what} ${String(kind)}`);
}

function checkedPort(n: number | undefined, dflt: number, what: string): number {
  const v = n ?? dflt;
  if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) throw new VivError('invalidArgument', `${what} must be a port number, got ${v}`);
  return v;
}

/**
 * The guest's console device for an accelerator (guest-image/init loads virtio_console for hvc*):
 * VZ's only console is the virtio console hvc0 (native/vz-helper/README.md); Hyper-V's is COM1
 * (ttyS0; hcs-helper also appends its own); QEMU machines (kvm, tcg, hvf, whp) have a 16550 UART
 * on x86_64 and a PL011 (ttyAMA0) on arm64 `virt`.
 */
export function guestConsole(accelerator: Accelerator | undefined, arch: GuestArch | undefined): string {
  const uart = arch === 'arm64' ? 'ttyAMA0' : 'ttyS0';
  switch (accelerator) {
    case 'vz':
      return 'hvc0';
    case 'hyperv':
      return 'ttyS0';
    case 'kvm':
    case 'tcg':
    case 'hvf':
    case 'whp':
    case undefined:
      return uart;
    default:
      return unmapped(accelerator, 'accelerator');
  }
}

/**
 * How init serves SSH for a helper's channel kind (guest-image/init `vivarium.channel`,
 * `vivarium.vsock_port`, `vivarium.vsock_transport`): virtio-serial is the port named
 * `vivarium.ssh`; vsock is AF_VSOCK over virtio; hvsocket is the same AF_VSOCK socket in the
 * guest over the Hyper-V transport (hv_sock), which the host reaches as AF_HYPERV.
 */
export function guestChannelParams(kind: ChannelKind, vsockPort?: number): string[] {
  switch (kind) {
    case 'virtio-serial':
      return ['vivarium.channel=serial'];
    case 'vsock':
      return ['vivarium.channel=vsock', `vivarium.vsock_port=${checkedPort(vsockPort, 22, 'vsockPort')}`];
    case 'hvsocket':
      return ['vivarium.channel=vsock', `vivarium.vsock_port=${checkedPort(vsockPort, 22, 'vsockPort')}`, 'vivarium.vsock_transport=hv'];
    default:
      return unmapped(kind, 'channel kind');
  }
}

/**
 * How init mounts /workspace for a share kind (guest-image/init `vivarium.share`): virtio 9p and
 * virtiofs by the tag "workspace"; hv9p dials the host's Plan 9 server on vsock port
 * `hv9pPort` and attaches `hv9pAname` (native/hcs-helper/README.md).
 */
export function guestShareParams(kind: GuestShareKind, readOnly: boolean, o: { hv9pPort?: number; hv9pAname?: string } = {}): string[] {
  const common = [`vivarium.share=${kind}`, `vivarium.ro=${readOnly ? 1 : 0}`];
  switch (kind) {
    case 'none':
    case '9p':
    case 'virtiofs':
      return common;
    case 'hv9p': {
      const aname = o.hv9pAname ?? 'workspace';
      if (!/^[A-Za-z0-9_.-]+$/.test(aname)) throw new VivError('invalidArgument', `hv9pAname "${aname}" must match [A-Za-z0-9_.-]+`);
      return [...common, `vivarium.hv9p_port=${checkedPort(o.hv9pPort, 50001, 'hv9pPort')}`, `vivarium.hv9p_aname=${aname}`];
    }
    default:
      return unmapped(kind, 'share kind');
  }
}

/** The kernel command line for a Vivarium guest: console, boot-speed options and the `vivarium.*` parameters init reads. */
export function guestCmdline(o: GuestCmdlineOptions): string {
  const con = o.console ?? guestConsole(o.accelerator, o.arch);
  if (!/^[a-zA-Z0-9,]+$/.test(con)) throw new VivError('invalidArgument', `Bad console name "${con}"`);
  const args = [`console=${con}`, 'panic=-1'];
  // Boot speed (measured under TCG, guest-image/README.md "Boot time"): every console byte is slow, so
  // quiet; the crypto self-tests cost ~1 s (cryptomgr.notests; kdf108's init is only its self-test);
  // the X.509 list only serves module signature checks, which Debian does not enforce
  // (MODULE_SIG_FORCE unset); the "encrypted" key type (init_encrypted, ~0.17 s under TCG) is
  // unused; IPv6 init costs ~0.3 s and the guest has loopback only.
  args.push(o.debug ? 'loglevel=7' : 'quiet', 'random.trust_cpu=on', 'cryptomgr.notests=1',
    'initcall_blacklist=crypto_kdf108_init,load_system_certificate_list,init_encrypted', 'ipv6.disable=1');
  if (o.arch !== 'arm64') args.push('i8042.noaux', 'i8042.nokbd', 'i8042.nopnp', 'tsc=reliable', 'no_timer_check');
  args.push(...guestShareParams(o.shareKind, o.readOnly, o), ...guestChannelParams(o.channelKind, o.vsockPort));
  if (o.debug) args.push('vivarium.debug=1');
  for (const e of o.extra ?? []) {
    if (/[\s\0]/.test(e) || e === '') throw new VivError('invalidArgument', `Extra kernel parameter "${e}" must be one word`);
    args.push(e);
  }
  return args.join(' ');
}
