/**
 * Boot benchmark: time from `start` to the first successful SSH command, p50 and max over N
 * boots, for the helper's way (q35, PVH boot of the ELF vmlinux: no firmware, no
 * decompression) side by side in one run with the same kernel booted the usual way (q35,
 * SeaBIOS firmware, compressed bzImage), and with the standard image (the same kernel and
 * initramfs, the Debian root filesystem as a read-only disk, `vivarium.root=standard`: mount,
 * overlay, switch_root; guest-image/README.md "Standard root"). Boots alternate so machine load
 * hits all alike. Also reports both images' sizes. Prints JSON; never gates on time.
 *
 *   npx tsx bench/boot/boot-bench.ts [N=5]
 */
import { statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { hostGuestArch, loadGuestImage } from '../../app/main/image/guest-image.js';
import { loadStandardImage, type StandardImage } from '../../app/main/image/standard-image.js';
import { bootVm, type BootOptions } from '../../test/support/helper-vm.js';

interface Series {
  kernel: string;
  boot: BootOptions;
  ms: number[];
  cpuMs: number[];
  failures: string[];
}

const median = (a: number[]): number | null => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? null;

function summary(s: Series): Record<string, unknown> {
  const sorted = [...s.ms].sort((a, b) => a - b);
  return {
    kernel: s.kernel,
    boots: s.ms.length,
    failures: s.failures,
    p50Ms: sorted[Math.floor(sorted.length / 2)] ?? null,
    maxMs: sorted.at(-1) ?? null,
    minMs: sorted[0] ?? null,
    samplesMs: s.ms,
    qemuCpuP50Ms: median(s.cpuMs),
    qemuCpuSamplesMs: s.cpuMs,
  };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 5);
  const arch = hostGuestArch();
  const img = await loadGuestImage(arch);
  if (!img.bzImage) throw new Error(`the ${arch} guest image has no bzImage to compare with`);
  const pvh: Series = { kernel: img.kernel, boot: {}, ms: [], cpuMs: [], failures: [] };
  const usual: Series = { kernel: img.bzImage, boot: {}, ms: [], cpuMs: [], failures: [] };
  // The standard image needs more memory for its agents, not for booting: same -m as the others.
  const std: StandardImage | Error = await loadStandardImage(arch).catch((e: unknown) => e as Error);
  const standard: Series = {
    kernel: img.kernel,
    boot: std instanceof Error ? {} : { extraCmdline: ['vivarium.root=standard'], disks: [{ id: 'standard', hostPath: std.rootfs, readOnly: true, format: std.format }] },
    ms: [], cpuMs: [], failures: std instanceof Error ? [`not run: ${std.message}`] : [],
  };
  const series = std instanceof Error ? [pvh, usual] : [pvh, usual, standard];
  for (let i = 0; i < n; i++) {
    for (const s of series) {
      try {
        const vm = await bootVm({ name: `bench-${i}`, kernel: s.kernel, sshTimeoutMs: 300_000, ...s.boot });
        s.ms.push(Math.round(vm.timings.firstCommandMs));
        if (vm.timings.qemuCpuMs !== null) s.cpuMs.push(vm.timings.qemuCpuMs);
        await vm.dispose();
      } catch (e) {
        s.failures.push((e as Error).message);
      }
    }
  }
  const a = summary(pvh);
  const b = summary(usual);
  const c = summary(standard);
  const size = (p: string): number => statSync(p).size;
  const speedup = typeof a.p50Ms === 'number' && typeof b.p50Ms === 'number' && a.p50Ms > 0 ? +(b.p50Ms / a.p50Ms).toFixed(2) : null;
  console.log(
    JSON.stringify(
      {
        bench: 'boot',
        metric: 'start request to first successful SSH command (ms)',
        note: 'qemuCpu*: QEMU CPU time (user+system) at that moment; machine load disturbs it far less than wall time',
        loadAverage1m: loadavg()[0],
        arch,
        accelerator: process.env.VIVARIUM_ACCEL ?? 'auto',
        cpus: 2,
        memoryMiB: 512,
        vivarium: { machine: 'q35', boot: 'PVH ELF vmlinux, no firmware', ...a },
        usual: { machine: 'q35', boot: 'SeaBIOS + compressed bzImage', ...b },
        p50SpeedupX: speedup,
        standard: { machine: 'q35', boot: 'PVH ELF vmlinux, tiny initramfs, then the standard image (read-only disk, overlay, switch_root)', ...c },
        standardMinusTinyP50Ms: typeof a.p50Ms === 'number' && typeof c.p50Ms === 'number' ? c.p50Ms - a.p50Ms : null,
        sizes: {
          tiny: { initramfsBytes: size(img.initrd), kernelBytes: size(img.kernel) },
          standard: std instanceof Error ? null : {
            rootfsExt4Bytes: std.sizeBytes,
            rootfsVhdxBytes: (std.manifest.artifacts as Record<string, { size?: number }>)['rootfs.vhdx']?.size ?? null,
            treeKiB: (std.manifest as { treeKiB?: number }).treeKiB ?? null,
          },
        },
      },
      null,
      2,
    ),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
