import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateVmKeys, dropbearHostKey } from './vm-keys.js';
import { ACCELERATORS, CHANNEL_KINDS, SHARE_KINDS } from '../vm/helper-protocol.js';
import { buildVmSegment, guestChannelParams, guestCmdline, guestConsole, guestShareParams, writeVmInitrd } from './vm-segment.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const temp = (): string => { const d = mkdtempSync(join(tmpdir(), 'viv-seg-')); dirs.push(d); return d; };

/** Minimal newc reader (independent of the writer) for checking the archive. */
function readNewc(buf: Buffer): { name: string; mode: number; data: Buffer }[] {
  const out: { name: string; mode: number; data: Buffer }[] = [];
  let off = 0;
  const al = (n: number): number => (n + 3) & ~3;
  for (;;) {
    expect(buf.toString('latin1', off, off + 6)).toBe('070701');
    const field = (i: number): number => parseInt(buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1), size = field(6), nameSize = field(11);
    const name = buf.toString('latin1', off + 110, off + 110 + nameSize - 1);
    const dataStart = al(off + 110 + nameSize);
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode, data: buf.subarray(dataStart, dataStart + size) });
    off = al(dataStart + size);
  }
}

describe('per-VM segment', () => {
  const keys = generateVmKeys('seg');

  it('holds the authorized key, the dropbear host key and the options, all private', () => {
    const seg = buildVmSegment({ authorizedKeys: keys.clientPublicKey, hostPrivateKey: keys.hostPrivateKey, options: { hostname: 'box-1' } });
    expect(seg.length % 4).toBe(0);
    const entries = readNewc(seg);
    expect(entries.map((e) => e.name)).toEqual(['vivarium', 'vivarium/authorized_keys', 'vivarium/dropbear_host_key', 'vivarium/options']);
    expect(entries[0]!.mode).toBe(0o040700);
    for (const e of entries.slice(1)) expect(e.mode).toBe(0o100600);
    expect(entries[1]!.data.toString()).toBe(keys.clientPublicKey + '\n');
    expect(entries[2]!.data.equals(dropbearHostKey(keys.hostPrivateKey))).toBe(true);
    expect(entries[3]!.data.toString()).toBe('hostname=box-1\n');
  });

  it('is a valid archive for GNU cpio as well', () => {
    const d = temp();
    writeFileSync(join(d, 'seg.cpio'), buildVmSegment({ authorizedKeys: keys.clientPublicKey, hostPrivateKey: keys.hostPrivateKey }));
    let listing: string;
    try {
      listing = execFileSync('cpio', ['-it', '--quiet', '-F', join(d, 'seg.cpio')], { encoding: 'utf8' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // cpio not installed: the reader above covers it
      throw e;
    }
    expect(listing.trim().split('\n')).toEqual(['vivarium', 'vivarium/authorized_keys', 'vivarium/dropbear_host_key', 'vivarium/options']);
  });

  it('rejects bad input with the cause named', () => {
    expect(() => buildVmSegment({ authorizedKeys: 'nope', hostPrivateKey: keys.hostPrivateKey })).toThrow(/no SSH public key/);
    expect(() => buildVmSegment({ authorizedKeys: keys.clientPublicKey, hostPrivateKey: keys.hostPrivateKey, options: { 'Bad Key': 'x' } })).toThrow(/Bad Key/);
    expect(() => buildVmSegment({ authorizedKeys: keys.clientPublicKey, hostPrivateKey: keys.hostPrivateKey, options: { a: 'x\ny' } })).toThrow(/single line/);
  });

  it('writes base + zero padding to 4 bytes + segment, 0600, atomically', async () => {
    const d = temp();
    writeFileSync(join(d, 'base.img'), Buffer.from('12345'));
    const seg = buildVmSegment({ authorizedKeys: keys.clientPublicKey, hostPrivateKey: keys.hostPrivateKey });
    await writeVmInitrd(join(d, 'base.img'), seg, join(d, 'vm.img'));
    const out = readFileSync(join(d, 'vm.img'));
    expect(out.subarray(0, 8).equals(Buffer.from([0x31, 0x32, 0x33, 0x34, 0x35, 0, 0, 0]))).toBe(true);
    expect(out.subarray(8).equals(seg)).toBe(true);
    expect(statSync(join(d, 'vm.img')).mode & 0o777).toBe(0o600);
    expect(readdirSync(d).sort()).toEqual(['base.img', 'vm.img']);
  });

  it('fails on a missing base initramfs without leaving files behind', async () => {
    const d = temp();
    await expect(writeVmInitrd(join(d, 'missing.img'), Buffer.alloc(4), join(d, 'vm.img'))).rejects.toThrow(/guest:build/);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('guestCmdline', () => {
  it('encodes share, read-only and channel for init', () => {
    const c = guestCmdline({ arch: 'x86_64', shareKind: '9p', readOnly: true, channelKind: 'virtio-serial' }).split(' ');
    expect(c).toContain('console=ttyS0');
    expect(c).toContain('vivarium.share=9p');
    expect(c).toContain('vivarium.ro=1');
    expect(c).toContain('vivarium.channel=serial');
    expect(c).toContain('quiet');
  });

  it('vsock, virtiofs, hv9p and arm64 console', () => {
    const v = guestCmdline({ arch: 'arm64', shareKind: 'virtiofs', readOnly: false, channelKind: 'vsock', vsockPort: 2222, console: 'hvc0' });
    expect(v).toContain('console=hvc0');
    expect(v).toContain('vivarium.channel=vsock vivarium.vsock_port=2222');
    expect(v).not.toContain('i8042');
    expect(guestCmdline({ arch: 'arm64', shareKind: 'none', readOnly: false, channelKind: 'virtio-serial' })).toContain('console=ttyAMA0');
    const h = guestCmdline({ shareKind: 'hv9p', readOnly: true, channelKind: 'hvsocket', hv9pPort: 564, hv9pAname: 'work', extra: ['8250_core.nr_uarts=1'] });
    expect(h).toContain('vivarium.hv9p_port=564 vivarium.hv9p_aname=work');
    expect(h).toContain('vivarium.vsock_transport=hv');
    expect(h.endsWith('8250_core.nr_uarts=1')).toBe(true);
  });

  // One case per helper kind (native/protocol/PROTOCOL.md §5.1; what init reads: guest-image/init).
  it('maps every channel kind to what init serves SSH on', () => {
    expect(guestChannelParams('virtio-serial')).toEqual(['vivarium.channel=serial']);
    expect(guestChannelParams('vsock', 2222)).toEqual(['vivarium.channel=vsock', 'vivarium.vsock_port=2222']);
    // hcs-helper's hvsocket is AF_VSOCK in the guest over the Hyper-V transport, never a serial port.
    expect(guestChannelParams('hvsocket')).toEqual(['vivarium.channel=vsock', 'vivarium.vsock_port=22', 'vivarium.vsock_transport=hv']);
    for (const kind of CHANNEL_KINDS) expect(guestChannelParams(kind)[0]).toMatch(/^vivarium\.channel=(serial|vsock)$/);
  });

  it('maps every share kind to how init mounts /workspace', () => {
    expect(guestShareParams('9p', true)).toEqual(['vivarium.share=9p', 'vivarium.ro=1']);
    expect(guestShareParams('virtiofs', false)).toEqual(['vivarium.share=virtiofs', 'vivarium.ro=0']);
    expect(guestShareParams('hv9p', true)).toEqual(['vivarium.share=hv9p', 'vivarium.ro=1', 'vivarium.hv9p_port=50001', 'vivarium.hv9p_aname=workspace']);
    expect(guestShareParams('none', false)).toEqual(['vivarium.share=none', 'vivarium.ro=0']);
    for (const kind of SHARE_KINDS) expect(guestShareParams(kind, false)[0]).toBe(`vivarium.share=${kind}`);
  });

  it('picks the console device of each accelerator', () => {
    expect(guestConsole('vz', 'arm64')).toBe('hvc0');
    expect(guestConsole('vz', 'x86_64')).toBe('hvc0');
    expect(guestConsole('hyperv', 'x86_64')).toBe('ttyS0');
    for (const a of ['kvm', 'tcg', 'hvf', 'whp'] as const) {
      expect(guestConsole(a, 'x86_64')).toBe('ttyS0');
      expect(guestConsole(a, 'arm64')).toBe('ttyAMA0');
    }
    for (const a of ACCELERATORS) expect(guestConsole(a, 'x86_64')).toMatch(/^(hvc0|ttyS0)$/);
    expect(guestCmdline({ arch: 'arm64', shareKind: 'virtiofs', readOnly: true, channelKind: 'vsock', accelerator: 'vz' })).toMatch(/^console=hvc0 /);
  });

  it('rejects values that could break the command line', () => {
    expect(() => guestCmdline({ shareKind: '9p', readOnly: false, channelKind: 'vsock', vsockPort: 0 })).toThrow(/port/);
    expect(() => guestCmdline({ shareKind: '9p', readOnly: false, channelKind: 'vsock', extra: ['a b'] })).toThrow(/one word/);
    expect(() => guestCmdline({ shareKind: 'hv9p', readOnly: false, channelKind: 'vsock', hv9pAname: 'x y' })).toThrow(/hv9pAname/);
    expect(() => guestCmdline({ shareKind: 'none', readOnly: false, channelKind: 'vsock', console: 'tty S0' })).toThrow(/console/);
  });
});
