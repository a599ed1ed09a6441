import { describe, expect, it } from 'vitest';
import { VivError } from '../../shared/errors.js';
import type { EventEnvelope } from '../../shared/contract.js';
import type { BootProgress, WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { MemoryKeyStore } from '../gateway/key-store.js';
import { createApiSession, isValidEvent } from './api-session.js';
import type { CoreEvent, PtyCallbacks, WindowCore } from './window-core.js';

const ws: WorkspaceSnapshot = {
  id: 'w1', name: 'site', grant: { workspaceId: 'w1', canonicalPath: '/tmp/site', mode: 'ro', createdAt: 1 },
  vm: { state: 'stopped', reason: null, bootMs: null, startedAt: null }, settings: { cpus: 2, memoryMiB: 512, keepState: false },
  egress: { mode: 'off' },
};

/** An in-memory core: records PTY traffic and lets the test broadcast events. */
function memoryCore() {
  const listeners = new Set<(e: CoreEvent) => void>();
  const boot = new Set<(p: BootProgress) => void>();
  const ptyLog: string[] = [];
  let ptyCallbacks: PtyCallbacks | null = null;
  const keys = new MemoryKeyStore();
  const fail = async (): Promise<never> => {
    throw new VivError('notFound', 'There is no workspace w9.', { id: 'w9' });
  };
  const core: WindowCore = {
    listWorkspaces: async () => [ws],
    inspectFolder: fail,
    createWorkspace: fail,
    removeWorkspace: fail,
    revokeGrant: async () => ({ ...ws, grant: null }),
    startVm: fail,
    stopVm: async () => ws.vm,
    updateSettings: async (_id, s) => ({ ...ws, settings: { cpus: s.cpus, memoryMiB: s.memoryMiB, keepState: s.keepState ?? ws.settings.keepState } }),
    discardVmState: async (id) => id === 'w1',
    listTasks: async () => [],
    startTask: fail,
    cancelTask: fail,
    readTaskOutput: fail,
    listProfiles: async () => [],
    openPty: async (_w, cols, rows, cb) => {
      ptyCallbacks = cb;
      ptyLog.push(`open ${cols}x${rows}`);
      return {
        write: (d) => ptyLog.push(`write ${d}`),
        resize: (c, r) => ptyLog.push(`resize ${c}x${r}`),
        close: () => ptyLog.push('close'),
      };
    },
    setEgress: async (_id, policy) => {
      if (policy.mode === 'allowlist' && policy.hosts.includes('bad host')) throw new VivError('invalidArgument', '"bad host" is not a host name');
      return { ...ws, egress: policy };
    },
    egressPrompts: async () => [],
    answerEgress: async (_w, promptId) => promptId === 'p1',
    egressLog: async (taskId) => ({ taskId, records: [], truncated: false }),
    exportEgressLog: async (taskId) => ({ taskId, jsonLines: '' }),
    taskSteps: async (taskId) => [{ taskId, index: 0, at: 5, step: { kind: 'text', text: 'Looking at the tests.' } }],
    listKeys: () => keys.list(),
    setKey: (api, key) => keys.set(api, key),
    clearKey: (api) => keys.clear(api),
    gatewayLog: async () => [],
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    onBootProgress: (l) => {
      boot.add(l);
      return () => boot.delete(l);
    },
  };
  return {
    core, ptyLog, broadcast: (e: CoreEvent) => listeners.forEach((l) => l(e)), pty: () => ptyCallbacks!, listeners, boot,
    progress: (p: BootProgress) => boot.forEach((l) => l(p)),
  };
}

describe('ApiSession', () => {
  it('validates input before any handler runs', async () => {
    const m = memoryCore();
    const s = createApiSession(m.core, () => {});
    const r = await s.dispatch('vm:stop', { workspaceId: 'w1' });
    expect(r).toMatchObject({ ok: false, error: { code: 'invalidArgument', message: 'Invalid input for vm:stop' } });
    expect(!r.ok && r.error.cause).toEqual([{ path: 'force', message: expect.any(String) }]);
    expect(await s.dispatch('vm:stop', { workspaceId: 'w1', force: false })).toEqual({ ok: true, value: ws.vm });
  });

  it('folder:pick uses the shell\'s picker, and says "unsupported" where there is none', async () => {
    const none = await createApiSession(memoryCore().core, () => {}).dispatch('folder:pick', undefined);
    expect(none).toMatchObject({ ok: false, error: { code: 'unsupported' } });
    const picked = await createApiSession(memoryCore().core, () => {}, { pickFolder: async () => '/home/me/site' }).dispatch('folder:pick', undefined);
    expect(picked).toEqual({ ok: true, value: { path: '/home/me/site' } });
    const cancelled = await createApiSession(memoryCore().core, () => {}, { pickFolder: async () => null }).dispatch('folder:pick', undefined);
    expect(cancelled).toEqual({ ok: true, value: { path: null } });
  });

  it('carries the egress methods: policy shape checked, core errors and answers passed through', async () => {
    const { core } = memoryCore();
    const s = createApiSession(core, () => undefined);
    const set = await s.dispatch('workspace:setEgress', { workspaceId: 'w1', policy: { mode: 'allowlist', hosts: ['api.example.com:443'] } });
    expect(set).toMatchObject({ ok: true, value: { egress: { mode: 'allowlist', hosts: ['api.example.com:443'] } } });
    const bad = await s.dispatch('workspace:setEgress', { workspaceId: 'w1', policy: { mode: 'allowlist', hosts: ['bad host'] } });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalidArgument', message: expect.stringContaining('bad host') } });
    expect(await s.dispatch('workspace:setEgress', { workspaceId: 'w1', policy: { mode: 'open' } })).toMatchObject({ ok: false, error: { code: 'invalidArgument' } });
    expect(await s.dispatch('egress:answer', { workspaceId: 'w1', promptId: 'p1', answer: 'once' })).toEqual({ ok: true, value: { answered: true } });
    expect(await s.dispatch('egress:answer', { workspaceId: 'w1', promptId: 'p2', answer: 'deny' })).toEqual({ ok: true, value: { answered: false } });
    expect(await s.dispatch('egress:answer', { workspaceId: 'w1', promptId: 'p1', answer: 'sometimes' })).toMatchObject({ ok: false });
    expect(await s.dispatch('egress:log', { taskId: 't1' })).toEqual({ ok: true, value: { taskId: 't1', records: [], truncated: false } });
    expect(await s.dispatch('egress:export', { taskId: 't1' })).toEqual({ ok: true, value: { taskId: 't1', jsonLines: '' } });
  });

  it('carries keepState: absent in settings:update = unchanged, and settings:discardState', async () => {
    const s = createApiSession(memoryCore().core, () => undefined);
    expect(await s.dispatch('settings:update', { workspaceId: 'w1', cpus: 1, memoryMiB: 256, keepState: true })).toMatchObject({ ok: true, value: { settings: { cpus: 1, memoryMiB: 256, keepState: true } } });
    expect(await s.dispatch('settings:update', { workspaceId: 'w1', cpus: 1, memoryMiB: 256 })).toMatchObject({ ok: true, value: { settings: { keepState: false } } });
    expect(await s.dispatch('settings:update', { workspaceId: 'w1', cpus: 1, memoryMiB: 256, keepState: 'yes' })).toMatchObject({ ok: false, error: { code: 'invalidArgument' } });
    expect(await s.dispatch('settings:discardState', { workspaceId: 'w1' })).toEqual({ ok: true, value: { discarded: true } });
    expect(await s.dispatch('settings:discardState', { workspaceId: 'w2' })).toEqual({ ok: true, value: { discarded: false } });
  });

  it('carries steps, keys and the gateway log; a key never comes back', async () => {
    const s = createApiSession(memoryCore().core, () => undefined);
    expect(await s.dispatch('task:steps', { taskId: 't1' })).toEqual({ ok: true, value: [{ taskId: 't1', index: 0, at: 5, step: { kind: 'text', text: 'Looking at the tests.' } }] });
    const set = await s.dispatch('keys:set', { api: 'anthropic', key: ' sk-ant-secret-1 ' });
    expect(set).toEqual({ ok: true, value: { api: 'anthropic', name: 'Anthropic', envVar: 'ANTHROPIC_API_KEY', stored: true, source: 'app' } });
    const listed = await s.dispatch('keys:list', undefined);
    expect(JSON.stringify(listed)).not.toContain('sk-ant-secret-1');
    expect(listed).toMatchObject({ ok: true, value: [{ api: 'anthropic', stored: true }, { api: 'openai', stored: false, source: null }] });
    expect(await s.dispatch('keys:set', { api: 'anthropic', key: 'two words' })).toMatchObject({ ok: false, error: { code: 'invalidArgument' } });
    expect(await s.dispatch('keys:clear', { api: 'anthropic' })).toMatchObject({ ok: true, value: { stored: false, source: null } });
    expect(await s.dispatch('gateway:log', { taskId: 't1' })).toEqual({ ok: true, value: [] });
  });

  it('refuses unknown and prototype method names', async () => {
    const s = createApiSession(memoryCore().core, () => {});
    for (const name of ['nope:x', '__proto__', 'constructor', 42]) {
      expect(await s.dispatch(name, undefined)).toMatchObject({ ok: false, error: { code: 'invalidArgument' } });
    }
  });

  it("passes the core's VivError through with its code, message and cause", async () => {
    const s = createApiSession(memoryCore().core, () => {});
    expect(await s.dispatch('vm:start', { workspaceId: 'w9' })).toEqual({
      ok: false, error: { code: 'notFound', message: 'There is no workspace w9.', cause: { id: 'w9' } },
    });
  });

  it('refuses a core reply that does not match the contract', async () => {
    const m = memoryCore();
    m.core.listWorkspaces = async () => [{ ...ws, vm: { state: 'exploded' } }] as never;
    const r = await createApiSession(m.core, () => {}).dispatch('workspace:list', undefined);
    expect(r).toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('forwards core events until disposed', () => {
    const m = memoryCore();
    const got: EventEnvelope[] = [];
    const s = createApiSession(m.core, (e) => got.push(e));
    const e: CoreEvent = { event: 'workspace:changed', payload: ws };
    m.broadcast(e);
    m.progress({ workspaceId: 'w1', phase: 'booting', elapsedMs: 120 });
    s.dispose();
    m.broadcast(e);
    m.progress({ workspaceId: 'w1', phase: 'ready', elapsedMs: 900 });
    expect(got).toEqual([e, { event: 'vm:progress', payload: { workspaceId: 'w1', phase: 'booting', elapsedMs: 120 } }]);
    expect(m.listeners.size + m.boot.size).toBe(0);
    expect(got.every(isValidEvent)).toBe(true);
  });

  it('owns its PTYs: data goes to this session only, others cannot write, dispose closes them', async () => {
    const m = memoryCore();
    const a: EventEnvelope[] = [];
    const b: EventEnvelope[] = [];
    const sa = createApiSession(m.core, (e) => a.push(e));
    const sb = createApiSession(m.core, (e) => b.push(e));
    const opened = await sa.dispatch('pty:open', { workspaceId: 'w1', cols: 80, rows: 24 });
    expect(opened.ok).toBe(true);
    const ptyId = (opened.ok && (opened.value as { ptyId: string }).ptyId) as string;
    expect(await sa.dispatch('pty:write', { ptyId, data: 'ls\r' })).toEqual({ ok: true, value: null });
    expect(await sb.dispatch('pty:write', { ptyId, data: 'rm -rf /\r' })).toMatchObject({ ok: false, error: { code: 'notFound' } });
    await sa.dispatch('pty:resize', { ptyId, cols: 100, rows: 30 });
    m.pty().onData('hello');
    expect(a).toEqual([{ event: 'pty:data', payload: { ptyId, data: 'hello' } }]);
    expect(b).toEqual([]);
    sa.dispose();
    expect(m.ptyLog).toEqual(['open 80x24', 'write ls\r', 'resize 100x30', 'close']);
    expect(await sa.dispatch('workspace:list', undefined)).toMatchObject({ ok: false, error: { code: 'invalidState' } });
  });
});
