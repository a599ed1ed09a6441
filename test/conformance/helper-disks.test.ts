import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { bootVm, helperHello, vmPrerequisites, type BootedVm } from '../support/helper-vm.js';

// Disks and data channels through the qemu-helper (PROTOCOL.md §5.2.1-5.2.2), checked from both
// sides on a real VM: a read-only disk is read-only because the host says so (the guest can
// lift its own read-only flag and the write still fails, the image's digest never changes), and
// a data channel carries bytes both ways between a host socket and the guest port vivarium.<name>.

const pre = vmPrerequisites();
const features = pre.ok ? (await helperHello()).features : null;
const offered = !!features && features.diskFormats.includes('raw') && features.readOnlyDisks && features.dataChannels >= 1;

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Reads from a socket until `n` bytes arrived (or rejects after `ms`). */
function readBytes(sock: Socket, n: number, ms: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const done = (e?: Error): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('error', done);
      sock.off('close', onClose);
      if (e) reject(e);
      else resolve(Buffer.concat(parts).subarray(0, n));
    };
    const onData = (d: Buffer): void => {
      parts.push(d);
      got += d.length;
      if (got >= n) done();
    };
    const onClose = (): void => done(new Error(`the data channel closed after ${got} of ${n} bytes`));
    const timer = setTimeout(() => done(new Error(`only ${got} of ${n} bytes within ${ms} ms`)), ms);
    sock.on('data', onData);
    sock.on('error', done);
    sock.on('close', onClose);
  });
}

describe('qemu-helper disks and data channels', () => {
  const base = mkdtempSync(join(tmpdir(), 'viv-disk-'));
  let vm: BootedVm | null = null;
  afterEach(async () => {
    await vm?.dispose();
    vm = null;
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('has the helper, a guest image and the features', () => {
    expect(pre.why).toBe('');
    expect(features).toMatchObject({ diskFormats: ['raw'], readOnlyDisks: true, dataChannels: 4 });
  });

  it.runIf(offered)('a read-only raw ext4 disk is /dev/vda: the guest reads it, no write reaches the host file; a writable one is /dev/vdb', async () => {
    // An ext4 image made from a folder (mkfs.ext4 -d, e2fsprogs), 8 MiB.
    const src = join(base, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'hello.txt'), 'hello from the disk\n');
    const image = join(base, 'root.img');
    execFileSync('mkfs.ext4', ['-q', '-F', '-L', 'vivtest', '-d', src, image, '8M'], { stdio: 'pipe' });
    const digest = sha256(image);
    const mtime = statSync(image).mtimeMs;
    const scratch = join(base, 'scratch.img');
    writeFileSync(scratch, Buffer.alloc(1 << 20));

    vm = await bootVm({
      name: 'disk-ro',
      disks: [
        { id: 'root', hostPath: image, readOnly: true, format: 'raw' },
        { id: 'scratch', hostPath: scratch, readOnly: false, format: 'raw' },
      ],
    });
    // The tiny root loads virtio_blk only for vivarium.root=standard; here the test loads it.
    const load = await vm.run('modprobe virtio_blk; i=0; while [ ! -b /dev/vdb ] && [ $i -lt 50 ]; do usleep 100000; i=$((i+1)); done; ls /dev/vda /dev/vdb');
    expect(load, 'the guest image needs virtio_blk (guest-image/modules.list)').toMatchObject({ exitCode: 0, stdout: '/dev/vda\n/dev/vdb\n' });

    // Array order, serials = ids, sizes, and the read-only flag the host set.
    const facts = await vm.run('for d in vda vdb; do cat /sys/block/$d/ro /sys/block/$d/serial; echo; blockdev --getsize64 /dev/$d; done; ls /sys/block | grep -c "^vd"');
    expect(facts.stdout).toBe(`1\nroot\n${8 << 20}\n0\nscratch\n${1 << 20}\n2\n`);
    // The guest reads exactly the host's bytes (sha256 of the whole device).
    const guestDigest = await vm.run('sha256sum /dev/vda');
    expect(guestDigest.stdout.split(' ')[0]).toBe(digest);

    // Mounted read-only, the file is there (ext4 from the image's modules).
    const mount = await vm.run('modprobe ext4 && mkdir -p /mnt/d && mount -t ext4 -o ro,noload /dev/vda /mnt/d && cat /mnt/d/hello.txt');
    expect(mount, mount.stderr).toMatchObject({ exitCode: 0, stdout: 'hello from the disk\n' });
    await vm.run('umount /mnt/d');

    // Writes: refused by the guest kernel while the device is read-only...
    const write = await vm.run('echo x | dd of=/dev/vda bs=512 seek=100 conv=fsync 2>&1');
    expect(write.exitCode).not.toBe(0);
    expect(write.stdout).toMatch(/Read-only file system|Operation not permitted|Permission denied/);
    // ...and refused by QEMU when the guest lifts its own read-only flag (host-side enforcement).
    const forced = await vm.run('blockdev --setrw /dev/vda; cat /sys/block/vda/ro; dd if=/dev/urandom of=/dev/vda bs=4096 count=16 oflag=direct conv=fsync 2>&1; echo "dd=$?"; sync');
    expect(forced.stdout).not.toMatch(/dd=0\b/);
    // The writable disk takes the guest's bytes through to the host file.
    const wrote = await vm.run('printf vivarium-wrote-this | dd of=/dev/vdb bs=512 seek=1 conv=fsync 2>&1; echo "dd=$?"');
    expect(wrote.stdout).toMatch(/dd=0\n$/);
    await vm.client.stop({ force: false, timeoutMs: 60_000 });
    expect(sha256(image)).toBe(digest);
    expect(statSync(image).mtimeMs).toBe(mtime);
    expect(readFileSync(scratch).subarray(512, 531).toString()).toBe('vivarium-wrote-this');
  });

  it.runIf(offered)('a data channel carries bytes from the guest to the host socket and back', async () => {
    vm = await bootVm({ name: 'data-chan', dataChannels: ['echo', 'spare'] });
    const chans = vm.started.dataChannels;
    expect(chans).toEqual([
      { name: 'echo', kind: 'virtio-serial', path: join(vm.runDir, 'echo.sock') },
      { name: 'spare', kind: 'virtio-serial', path: join(vm.runDir, 'spare.sock') },
    ]);
    for (const c of chans) expect(statSync(c.path).mode & 0o777).toBe(0o600);
    // The ports by name, from sysfs (the guest's /dev/virtio-ports links are made once at boot).
    const names = await vm.run('cat /sys/class/virtio-ports/vport*/name | sort');
    expect(names.stdout).toBe('vivarium.echo\nvivarium.spare\nvivarium.ssh\n');
    const dev = (await vm.run('for d in /sys/class/virtio-ports/vport*; do [ "$(cat $d/name)" = vivarium.echo ] && echo /dev/${d##*/}; done')).stdout.trim();
    expect(dev).toMatch(/^\/dev\/vport\d+p\d+$/);

    // Connect first (a guest write would block until a host client is there).
    const sock = connect(chans[0]!.path);
    await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
    const ready = readBytes(sock, 5, 60_000);
    // One fd for both directions: a virtio-serial port opens only once at a time.
    const echo = await vm.run(`setsid sh -c 'exec 3<>${dev}; printf READY >&3; exec cat <&3 >&3' </dev/null >/dev/null 2>&1 & echo started`);
    expect(echo.stdout).toBe('started\n');
    expect((await ready).toString()).toBe('READY');
    const payload = randomBytes(64 * 1024);
    const back = readBytes(sock, payload.length, 120_000);
    sock.write(payload);
    expect((await back).equals(payload)).toBe(true);
    sock.destroy();

    // Stopping removes every endpoint the helper created.
    await vm.client.stop({ force: true });
    for (const c of chans) expect(existsSync(c.path)).toBe(false);
    expect(existsSync(join(vm.runDir, 'ssh.sock'))).toBe(false);
  });
});
