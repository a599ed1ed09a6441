import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore } from './state-store.js';
import type { StateFile } from './state-schema.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sample = (name: string): StateFile => ({
  version: 1,
  workspaces: [{ id: 'w1', name, grant: { workspaceId: 'w1', canonicalPath: '/tmp/x', mode: 'rw', createdAt: 1 }, settings: { cpus: 1, memoryMiB: 256, keepState: false }, egress: { mode: 'off' }, createdAt: 1 }],
});

describe('StateStore', () => {
  it('starts empty and round-trips a saved state', async () => {
    const store = new StateStore(join(dir, 'state.json'));
    expect((await store.load()).state.workspaces).toEqual([]);
    await store.save(sample('a'));
    const again = await new StateStore(join(dir, 'state.json')).load();
    expect(again).toEqual({ state: sample('a'), recoveryMessage: null });
  });

  it('keeps the previous file as the last good copy and leaves no temp files', async () => {
    const store = new StateStore(join(dir, 'state.json'));
    await store.save(sample('a'));
    await store.save(sample('b'));
    const bak = JSON.parse(await readFile(join(dir, 'state.json.bak'), 'utf8')) as StateFile;
    expect(bak.workspaces[0]!.name).toBe('a');
    expect((await readdir(dir)).sort()).toEqual(['state.json', 'state.json.bak']);
  });

  it('serializes concurrent saves: the last call wins', async () => {
    const store = new StateStore(join(dir, 'state.json'));
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => store.save(sample(n))));
    const s = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as StateFile;
    expect(s.workspaces[0]!.name).toBe('d');
  });

  it('recovers a corrupt file from the last good copy, with a message, and sets the bad file aside', async () => {
    const store = new StateStore(join(dir, 'state.json'));
    await store.save(sample('good'));
    await store.save(sample('newer'));
    await writeFile(join(dir, 'state.json'), '{"version":1,"workspaces":[{"id":');
    const r = await new StateStore(join(dir, 'state.json')).load();
    expect(r.recoveryMessage).toMatch(/is not valid JSON/);
    expect(r.recoveryMessage).toMatch(/last good copy/);
    expect(r.state.workspaces[0]!.name).toBe('good');
    const files = await readdir(dir);
    expect(files.some((f) => f.startsWith('state.json.corrupt-'))).toBe(true);
    // The recovered state is written back, so the next start is clean.
    expect((await new StateStore(join(dir, 'state.json')).load()).recoveryMessage).toBeNull();
  });

  it('loads a file written before egress existed with the network off', async () => {
    const path = join(dir, 'state.json');
    const old = { version: 1, workspaces: [{ id: 'w1', name: 'a', grant: null, settings: { cpus: 1, memoryMiB: 256 }, createdAt: 1 }] };
    await writeFile(path, JSON.stringify(old));
    const loaded = await new StateStore(path).load();
    expect(loaded.recoveryMessage ?? null).toBeNull();
    expect(loaded.state.workspaces[0]!.egress).toEqual({ mode: 'off' });
  });

  it('recovers to an empty state when the shape is wrong and no copy exists', async () => {
    await writeFile(join(dir, 'state.json'), JSON.stringify({ version: 1, workspaces: [{ id: 5 }] }));
    const r = await new StateStore(join(dir, 'state.json')).load();
    expect(r.recoveryMessage).toMatch(/does not match the expected shape \(workspaces\.0\.id/);
    expect(r.recoveryMessage).toMatch(/empty state/);
    expect(r.state.workspaces).toEqual([]);
  });
});
