/**
 * `viv doctor`: checks what a VM needs, in order, and boots one. Each failed check says what
 * is wrong and how to fix it. Exit status 0 when every check passed, 1 otherwise.
 */
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { toVivError } from '../shared/errors.js';
import { Vivarium } from './core/vivarium.js';
import { EnvKeyStore } from './gateway/key-store.js';
import { hostGuestArch, loadGuestImage } from './image/guest-image.js';
import { loadStandardImage, STAMP_FILE } from './image/standard-image.js';
import { cliDataDir } from './paths.js';
import { defaultHelperPath, helperProcessFactory } from './vm/helper-process.js';

interface Check {
  name: string;
  run(): Promise<string>;
  /** Only agent profiles need it: a failure is a note, not a failed check. */
  optional?: boolean;
}

async function onPath(bin: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, bin);
    if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
  }
  return null;
}

/** Runs the checks, printing one line each; returns the exit status. */
export async function runDoctor(): Promise<number> {
  const arch = hostGuestArch();
  const qemuBin = arch === 'x86_64' ? 'qemu-system-x86_64' : 'qemu-system-aarch64';
  const checks: Check[] = [
    {
      name: 'hypervisor',
      async run() {
        const q = await onPath(qemuBin);
        if (!q) throw new Error(`${qemuBin} is not installed. Fix: sudo apt-get install qemu-system-${arch === 'x86_64' ? 'x86' : 'arm'} (or run \`npm run setup\`).`);
        const kvm = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => '/dev/kvm opens (the helper line below says whether KVM really works)', () => 'no usable /dev/kvm: VMs run under TCG emulation (slower)');
        return `${q}; ${kvm}`;
      },
    },
    {
      name: 'helper',
      async run() {
        const path = defaultHelperPath();
        if (!(await access(path, constants.X_OK).then(() => true, () => false))) {
          throw new Error(`${path} is missing. Fix: npm run helpers:build (bash native/build.sh).`);
        }
        const helper = await helperProcessFactory()();
        try {
          const hello = await helper.hello();
          if (!hello.available) throw new Error(`the helper says VMs cannot run here: ${hello.unavailableReason ?? 'no reason given'}`);
          return `${hello.helper} on ${hello.hostArch}; accelerators ${hello.features.accelerators.join(', ')}; shares ${hello.features.shareKinds.join(', ')}; channel ${hello.features.channelKinds.join(', ')}`;
        } finally {
          await helper.close();
        }
      },
    },
    {
      name: 'guest image',
      async run() {
        const img = await loadGuestImage(arch);
        return `${img.dir} (kernel ${img.manifest.kernelRelease}, digests match)`;
      },
    },
    {
      name: 'standard image',
      optional: true,
      async run() {
        // The same digest stamp as `viv run` uses: an unchanged image is not hashed again.
        const img = await loadStandardImage(arch, undefined, join(cliDataDir(), STAMP_FILE));
        return `${img.rootfs} (${(img.sizeBytes / 2 ** 30).toFixed(2)} GiB, digest matches); agent profiles run in it`;
      },
    },
    {
      name: 'API keys',
      optional: true,
      async run() {
        const keys = await new EnvKeyStore().list();
        const set = keys.filter((k) => k.source === 'env').map((k) => k.envVar);
        const unset = keys.filter((k) => k.source === null).map((k) => k.envVar);
        if (set.length === 0) throw new Error(`none set; agent profiles need ${unset.join(' or ')} (they stay on this computer: the VM never sees them)`);
        return `${set.join(', ')} set${unset.length ? `; not set: ${unset.join(', ')}` : ''}`;
      },
    },
    {
      name: 'boot',
      async run() {
        const scratch = await mkdtemp(join(tmpdir(), 'viv-doctor-'));
        try {
          const share = await mkdtemp(join(scratch, 'share-'));
          const core = await Vivarium.open({ dataDir: join(scratch, 'data'), helperFactory: helperProcessFactory() });
          try {
            const ws = await core.workspaceForFolder(share, 'ro');
            const t0 = Date.now();
            const conn = await core.connection(ws.id);
            const booted = Date.now() - t0;
            const r = await conn.run('uname -sr; ls -d /workspace');
            if (r.exitCode !== 0) throw new Error(`a command in the guest failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
            return `booted and ran a command in ${(booted / 1000).toFixed(1)} s (${core.accelerator(ws.id)}): ${r.stdout.split('\n')[0]}`;
          } finally {
            await core.close();
          }
        } finally {
          await rm(scratch, { recursive: true, force: true });
        }
      },
    },
  ];
  let failed = 0;
  for (const c of checks) {
    try {
      process.stdout.write(`ok    ${c.name}: ${await c.run()}\n`);
    } catch (e) {
      if (c.optional) {
        process.stdout.write(`note  ${c.name}: ${toVivError(e).message}\n`);
        continue;
      }
      failed++;
      process.stdout.write(`FAIL  ${c.name}: ${toVivError(e).message}\n`);
      if (c.name !== 'hypervisor') break; // later checks depend on this one
    }
  }
  process.stdout.write(failed ? `${failed} check(s) failed.\n` : 'Everything needed to run VMs works.\n');
  return failed ? 1 : 0;
}
