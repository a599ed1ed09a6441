/**
 * `viv image build`: runs guest-image/build.sh (which caches by input hash, so an up-to-date
 * image only gets verified) and then verifies the result the way the app does before a boot.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { VivError } from '../shared/errors.js';
import { hostGuestArch, loadGuestImage, type GuestArch } from './image/guest-image.js';
import { repoRoot } from './paths.js';

/**
 * Builds the guest image of `arch` (default: every arch build.sh knows) and verifies the one
 * this host boots (or `arch`); returns the exit status.
 */
export async function buildImage(only?: GuestArch): Promise<number> {
  const arch = only ?? hostGuestArch();
  const script = join(repoRoot(), 'guest-image', 'build.sh');
  try {
    await access(script);
  } catch {
    throw new VivError('notFound', `The guest image build script ${script} is missing; \`viv image build\` only works in a Vivarium source checkout.`);
  }
  process.stderr.write(`viv: building the guest image (bash ${script})…\n`);
  const t0 = Date.now();
  const code = await new Promise<number>((resolve, reject) => {
    const p = spawn('bash', [script, ...(only ? [only] : [])], { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', (e) => reject(new VivError('internal', `Could not run bash ${script}: ${e.message}`, e)));
    p.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  if (code !== 0) throw new VivError('internal', `The guest image build failed (bash ${script} exited ${code}); its output above says why.`);
  const image = await loadGuestImage(arch);
  process.stdout.write(`Guest image ${image.arch} (kernel ${image.manifest.kernelRelease}) verified in ${image.dir} after ${((Date.now() - t0) / 1000).toFixed(1)} s.\n`);
  return 0;
}
