// The VM runtime folder (where the agent-channel sockets live) is checked with lstat: a symbolic
// link planted where the folder should be is refused, even when it points at a private folder of
// this user (issue 16 item 8). Without the check, whoever can write the parent folder (/tmp is
// shared by every user) redirects the sockets, and the sweep of stale run dirs, into any 0700
// folder of ours, such as ~/.ssh, and can swap the link's target later.
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareBoot, runtimeBase } from '../../app/main/vm/vm-runtime.js';

const posix = process.platform !== 'win32';
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-sec-run-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.runIf(posix)('the runtime folder check uses lstat', () => {
  it('refuses a runtime folder that is a symbolic link to a private folder of this user', async () => {
    const xdg = join(dir, 'xdg');
    const victim = join(dir, 'dot-ssh'); // stands for ~/.ssh: ours, mode 0700
    await mkdir(xdg, { mode: 0o700 });
    await mkdir(victim, { mode: 0o700 });
    await writeFile(join(victim, 'id_ed25519'), 'secret', { mode: 0o600 });
    await symlink(victim, join(xdg, 'vivarium'));
    await expect(runtimeBase({ XDG_RUNTIME_DIR: xdg })).rejects.toMatchObject({
      code: 'invalidState',
      message: expect.stringMatching(/symbolic link/),
    });
  });

  it('refuses a dangling link with the same clear error', async () => {
    const xdg = join(dir, 'xdg');
    await mkdir(xdg, { mode: 0o700 });
    await symlink(join(dir, 'not-yet'), join(xdg, 'vivarium'));
    await expect(runtimeBase({ XDG_RUNTIME_DIR: xdg })).rejects.toMatchObject({ code: 'invalidState', message: expect.stringMatching(/symbolic link/) });
  });

  it('creates no run dir through the link when a boot is prepared', async () => {
    const xdg = join(dir, 'xdg');
    const victim = join(dir, 'dot-ssh');
    await mkdir(xdg, { mode: 0o700 });
    await mkdir(victim, { mode: 0o700 });
    await symlink(victim, join(xdg, 'vivarium'));
    const image = join(dir, 'initramfs.img');
    await writeFile(image, 'base-initramfs');
    const before = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = xdg;
    try {
      await expect(prepareBoot(join(dir, 'vm'), 'sec', image)).rejects.toThrow(/symbolic link/);
    } finally {
      if (before === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = before;
    }
    expect(await readdir(victim)).toEqual([]);
  });

  it('still accepts a real private folder, and refuses one open to others', async () => {
    const xdg = join(dir, 'xdg');
    await mkdir(xdg, { mode: 0o700 });
    await expect(runtimeBase({ XDG_RUNTIME_DIR: xdg })).resolves.toBe(join(xdg, 'vivarium'));
    const open = join(dir, 'open');
    await mkdir(join(open, 'vivarium'), { recursive: true, mode: 0o755 });
    await expect(runtimeBase({ XDG_RUNTIME_DIR: open })).rejects.toMatchObject({ code: 'invalidState', message: expect.stringMatching(/not private/) });
  });
});
