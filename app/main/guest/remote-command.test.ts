import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ALREADY_STARTED_EXIT, ALREADY_STARTED_MARK, shellJoin, shellQuote, signalTreeCommand, wrapCommand } from './remote-command.js';

const run = promisify(execFile);

describe('remote commands', () => {
  it('quotes words so the shell sees them verbatim', async () => {
    const words = ['plain', 'with space', "it's", '$HOME', '`x`', '"q"', '', 'a\nb', '*'];
    const { stdout } = await run('/bin/sh', ['-c', `printf '%s|' ${words.map(shellQuote).join(' ')}`]);
    expect(stdout).toBe(words.map((w) => `${w}|`).join(''));
    expect(shellJoin(['sh', '-c', 'echo hi; exit 3'])).toBe(`sh -c 'echo hi; exit 3'`);
  });

  it('wraps a command with cwd, env and a pid file, keeping its exit code', async () => {
    const pidFile = `/tmp/viv-remote-test-${process.pid}.pid`;
    const cmd = wrapCommand('echo "$V $(pwd)"; exit 7', { cwd: '/tmp', env: { V: "a 'b'" }, pidFile });
    const err = (await run('/bin/sh', ['-c', cmd]).catch((e: unknown) => e)) as { code: number; stdout: string };
    expect(err.code).toBe(7);
    expect(err.stdout).toBe("a 'b' /tmp\n");
    await run('/bin/sh', ['-c', `rm -f ${pidFile}`]);
    const missing = (await run('/bin/sh', ['-c', wrapCommand('true', { cwd: '/nonexistent-dir' })]).catch((e: unknown) => e)) as { code: number };
    expect(missing.code).toBe(125);
    expect(() => wrapCommand('x', { env: { 'A B': '1' } })).toThrow(/not valid/);
  });

  it('signals a whole process tree recorded in the pid file', async () => {
    const pidFile = `/tmp/viv-tree-test-${process.pid}.pid`;
    const { spawn } = await import('node:child_process');
    const nap = `sleep ${300 + (process.pid % 1000)}.${Date.now() % 1000}`; // unique, so other processes never count
    const child = spawn('/bin/sh', ['-c', wrapCommand(`${nap} & ${nap}; echo never`, { pidFile })], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? -1 : null))));
    for (let i = 0; i < 100; i++) {
      const ok = await run('/bin/sh', ['-c', `test -s ${pidFile}`]).then(() => true, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 100));
    const before = (await run('/bin/sh', ['-c', `ps -eo args | grep -cxF '${nap}' || true`])).stdout.trim();
    try {
      expect(Number(before)).toBe(2);
    } finally {
      await run('/bin/sh', ['-c', signalTreeCommand(pidFile, 'KILL', true)]);
    }
    expect(await exited).toBe(-1);
    await new Promise((r) => setTimeout(r, 100));
    const after = (await run('/bin/sh', ['-c', `ps -eo args | grep -cxF '${nap}' || true`])).stdout.trim();
    expect(Number(after)).toBe(0);
    await run('/bin/sh', ['-c', `rm -f ${pidFile}`]);
  });
});

describe('once-token guard', () => {
  it('runs a command once per token; a second delivery exits 254 with the marker', async () => {
    const token = `t${process.pid}x${Date.now()}`;
    const cmd = wrapCommand('echo ran', { onceToken: token });
    expect((await run('/bin/sh', ['-c', cmd])).stdout).toBe('ran\n');
    const again = (await run('/bin/sh', ['-c', cmd]).catch((e: unknown) => e)) as { code: number; stdout: string; stderr: string };
    expect(again.code).toBe(ALREADY_STARTED_EXIT);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(ALREADY_STARTED_MARK);
    await run('/bin/sh', ['-c', `rm /tmp/.vivarium-once-${token}`]);
  });
});
