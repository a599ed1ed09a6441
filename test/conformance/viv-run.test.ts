// `viv run` end to end: the real qemu-helper boots the real guest image under QEMU (TCG here).
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, processesMentioning, runViv, scratch, VIV } from './core-support.js';

let base: { dir: string; cleanup: () => Promise<void> };
let data: string;
let share: string;

beforeAll(async () => {
  base = await scratch('run');
  data = join(base.dir, 'data');
  share = join(base.dir, 'share');
  await mkdir(share);
});
afterAll(async () => {
  expect(await processesMentioning(base.dir)).toEqual([]);
  await base.cleanup();
});

describe('viv run', () => {
  it("prints the command's output and exits with its exit code", async () => {
    const r = await runViv(['run', share, '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 3'], data);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toContain('oops\n');
    expect(r.code).toBe(3);
  });

  it('runs in /workspace, and a file written there (rw) appears on the host with the same bytes', async () => {
    const r = await runViv(['run', share, '--', 'sh', '-c', 'pwd; printf "r\\303\\251sum\\351\\n" > made-in-guest.txt'], data);
    expect(r).toMatchObject({ code: 0, stdout: '/workspace\n' });
    expect(await readFile(join(share, 'made-in-guest.txt'))).toEqual(Buffer.from('r\xc3\xa9sum\xe9\n', 'latin1'));
  });

  it('--ro: writing fails in the guest and the host folder is unchanged', async () => {
    await writeFile(join(share, 'keep.txt'), 'original');
    const before = await stat(join(share, 'keep.txt'));
    const listing = (await readdir(share)).sort();
    const r = await runViv(['run', '--ro', share, '--', 'sh', '-c',
      'echo new > new.txt; s1=$?; echo changed > keep.txt; s2=$?; rm keep.txt; s3=$?; echo "$s1 $s2 $s3"; cat keep.txt'], data);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[1-9]\d* [1-9]\d* [1-9]\d*\noriginal$/);
    expect(r.stderr).toMatch(/Read-only file system/);
    expect((await readdir(share)).sort()).toEqual(listing);
    const after = await stat(join(share, 'keep.txt'));
    expect(await readFile(join(share, 'keep.txt'), 'utf8')).toBe('original');
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('refused folders and bad folders exit 2 with a message naming the cause', async () => {
    const root = await runViv(['run', '/', '--', 'true'], data);
    expect(root.code).toBe(2);
    expect(root.stderr).toMatch(/refuses to share \/: .*root of a filesystem/);
    const missing = await runViv(['run', join(base.dir, 'nope'), '--', 'true'], data);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/The folder .*nope does not exist/);
    const usage = await runViv(['run', share], data);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/needs a command after "--"/);
  });

  it('kill -9 of viv mid-command leaves no qemu behind after 5 s, and the next run works', async () => {
    const p = spawn(process.execPath, [VIV, 'run', share, '--', 'sh', '-c', 'echo started; sleep 600'], {
      env: { ...process.env, VIVARIUM_DATA_DIR: data },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      p.stdout.on('data', (b: Buffer) => b.toString().includes('started') && resolve());
      p.on('exit', (c) => reject(new Error(`viv exited early (${c})`)));
    });
    const qemuBefore = (await processesMentioning(data)).filter((x) => x.cmdline.includes('qemu-system'));
    expect(qemuBefore.length).toBe(1);
    p.kill('SIGKILL');
    const gone = await eventually(async () => (await processesMentioning(data)).length === 0, 5000);
    expect(gone ? [] : await processesMentioning(data)).toEqual([]);
    const again = await runViv(['run', share, '--', 'echo', 'works again'], data);
    expect(again).toMatchObject({ code: 0, stdout: 'works again\n' });
  });

  it('recovers a corrupt state.json with a message and still runs', async () => {
    await writeFile(join(data, 'state.json'), '{ this is not json');
    const r = await runViv(['run', share, '--', 'echo', 'ok'], data);
    expect(r.stderr).toMatch(/state file .*state\.json is not valid JSON .*; it was moved to .*corrupt.* and the last good copy .* was restored/);
    expect(r).toMatchObject({ code: 0, stdout: 'ok\n' });
    const again = await runViv(['run', share, '--', 'true'], data);
    expect(again.stderr).not.toMatch(/corrupt/);
  });
});
