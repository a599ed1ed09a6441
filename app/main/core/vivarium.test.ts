// The facade's bookkeeping without booting anything (VM paths: test/conformance/core-*.test.ts).
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VivError } from '../../shared/errors.js';
import type { CoreEvent } from '../api/window-core.js';
import { MemoryKeyStore } from '../gateway/key-store.js';
import { Vivarium } from './vivarium.js';

let dir: string;
const noHelper = async (): Promise<never> => {
  throw new VivError('hypervisorUnavailable', 'no helper in unit tests');
};
const open = (): Promise<Vivarium> => Vivarium.open({ dataDir: join(dir, 'data'), helperFactory: noHelper, home: join(dir, 'home') });

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'viv-core-')));
  await mkdir(join(dir, 'home'));
  await mkdir(join(dir, 'proj'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Vivarium', () => {
  it('creates, lists, persists, revokes and removes workspaces, with events', async () => {
    const core = await open();
    const events: CoreEvent[] = [];
    core.subscribe((e) => events.push(e));
    const ws = await core.createWorkspace(join(dir, 'proj'), 'ro', false);
    expect(ws).toMatchObject({ name: 'proj', grant: { canonicalPath: join(dir, 'proj'), mode: 'ro' }, vm: { state: 'stopped' }, settings: { cpus: 2, memoryMiB: 512 } });
    await core.updateSettings(ws.id, { cpus: 1, memoryMiB: 256 });
    const again = await open();
    expect(await again.listWorkspaces()).toEqual([{ ...ws, settings: { cpus: 1, memoryMiB: 256, keepState: false } }]);
    const revoked = await core.revokeGrant(ws.id);
    expect(revoked.grant).toBeNull();
    await expect(core.startTask(ws.id, 'ls', null)).rejects.toThrow(/no folder grant/);
    await expect(core.startVm(ws.id)).rejects.toThrow(/no folder grant/);
    await core.removeWorkspace(ws.id);
    expect(await core.listWorkspaces()).toEqual([]);
    expect(events.map((e) => e.event)).toEqual(['workspace:changed', 'workspace:changed', 'workspace:changed', 'workspace:removed']);
    const state = JSON.parse(await readFile(join(dir, 'data', 'state.json'), 'utf8')) as { workspaces: unknown[] };
    expect(state.workspaces).toEqual([]);
  });

  it('reuses the workspace of a folder and mode for `viv run`, and still refuses refused folders', async () => {
    const core = await open();
    const a = await core.workspaceForFolder(join(dir, 'proj'), 'rw');
    const b = await core.workspaceForFolder(join(dir, 'proj', '.', ''), 'rw');
    const c = await core.workspaceForFolder(join(dir, 'proj'), 'ro');
    expect(b.id).toBe(a.id);
    expect(c.id).not.toBe(a.id);
    await expect(core.workspaceForFolder('/', 'ro')).rejects.toThrow(/refuses to share \/: /);
    await expect(core.workspaceForFolder(join(dir, 'data'), 'ro')).rejects.toThrow(/data folder/);
  });

  it('fails a task with the cause when its VM cannot start, and keeps a profile task\'s prompt as its command', async () => {
    const core = await open();
    const ws = await core.createWorkspace(join(dir, 'proj'), 'rw', false);
    const t = await core.startTask(ws.id, 'ls -l', null);
    const done = await core.tasks.waitFor(t.id);
    expect(done).toMatchObject({ state: 'failed' });
    expect(done.reason).toMatch(/guest image|no helper in unit tests/);
    expect((await core.listWorkspaces())[0]!.vm.state).toBe('failed');
    await expect(core.startTask(ws.id, 'x', 'nope')).rejects.toThrow(/no agent profile "nope"/);
    expect((await core.listProfiles()).map((p) => [p.id, p.image, p.apis, p.showsSteps])).toEqual([
      ['shell', 'tiny', [], false], ['claude-code', 'standard', ['anthropic'], true], ['codex', 'standard', ['openai'], false],
    ]);
  });

  it('refuses an agent without its key or prompt, and names `npm run guest:build` when the standard image is missing', async () => {
    const keys = new MemoryKeyStore();
    const core = await Vivarium.open({ dataDir: join(dir, 'data'), helperFactory: noHelper, home: join(dir, 'home'), keys, standardDir: join(dir, 'no-standard') });
    const ws = await core.createWorkspace(join(dir, 'proj'), 'rw', false);
    await expect(core.startTask(ws.id, 'fix the tests', 'claude-code')).rejects.toThrow(/Claude Code needs your Anthropic API key.*the VM never sees it/);
    await core.setKey('anthropic', 'sk-ant-test-key');
    await expect(core.startTask(ws.id, '  ', 'claude-code')).rejects.toThrow(/needs a prompt/);
    const t = await core.startTask(ws.id, 'fix the tests', 'claude-code');
    expect(t).toMatchObject({ command: 'fix the tests', profileId: 'claude-code' });
    const done = await core.tasks.waitFor(t.id);
    expect(done.reason).toMatch(/needs the standard guest image.*npm run guest:build/);
    expect(await core.taskSteps(t.id)).toEqual([]);
    expect(await core.gatewayLog(t.id)).toEqual([]);
  });

  it('reports a recovered state file at open', async () => {
    await mkdir(join(dir, 'data'), { recursive: true });
    await writeFile(join(dir, 'data', 'state.json'), 'garbage');
    const core = await open();
    expect(core.recoveryMessages).toEqual([expect.stringMatching(/is not valid JSON/)]);
  });
});
