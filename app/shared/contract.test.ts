import { describe, expect, it } from 'vitest';
import { VivError } from './errors.js';
import { eventNames, events, isMethodName, methodNames, methods } from './contract.js';
import { createBridge, unwrapBridge, type BridgeTransport } from './contract-client.js';

const task = {
  id: 't1', workspaceId: 'w1', command: 'ls', profileId: null, state: 'running', exitCode: null, signal: null,
  reason: null, progress: { kind: 'normal', percent: 50 }, statusLine: null, createdAt: 1, startedAt: 2, endedAt: null,
};

/** A transport that records calls and answers from a table; events are pushed by the test. */
function fakeTransport(answer: (channel: string, input: unknown) => unknown) {
  const calls: [string, unknown][] = [];
  let push: (env: unknown) => void = () => {};
  const transport: BridgeTransport = {
    invoke: async (channel, input) => {
      calls.push([channel, input]);
      return answer(channel, input);
    },
    listen: (l) => {
      push = l;
      return () => {};
    },
  };
  return { transport, calls, push: (env: unknown) => push(env) };
}

describe('the contract tables', () => {
  it('names every method and event domain:verb', () => {
    for (const n of [...methodNames, ...eventNames]) expect(n).toMatch(/^[a-z]+:[a-z]+(?:[A-Z][a-z]+)*$/);
  });

  it('covers the window API the issue lists', () => {
    for (const n of ['workspace:list', 'workspace:create', 'consent:inspect', 'grant:revoke', 'vm:start', 'vm:stop',
      'task:start', 'task:cancel', 'task:output', 'pty:open', 'pty:write', 'pty:resize', 'pty:close', 'settings:update',
      'workspace:setEgress', 'egress:prompts', 'egress:answer', 'egress:log', 'egress:export',
      'task:steps', 'keys:list', 'keys:set', 'keys:clear', 'gateway:log', 'settings:discardState']) {
      expect(isMethodName(n), n).toBe(true);
    }
    expect(isMethodName('toString')).toBe(false);
    expect(isMethodName('__proto__')).toBe(false);
  });

  it('rejects unknown keys and out-of-range values in inputs', () => {
    expect(methods['vm:start'].input.safeParse({ workspaceId: 'w1' }).success).toBe(true);
    expect(methods['vm:start'].input.safeParse({ workspaceId: 'w1', extra: 1 }).success).toBe(false);
    expect(methods['workspace:create'].input.safeParse({ path: '/x', mode: 'rwx', confirmWarnings: false }).success).toBe(false);
    expect(methods['settings:update'].input.safeParse({ workspaceId: 'w1', cpus: 0, memoryMiB: 512 }).success).toBe(false);
    expect(methods['pty:resize'].input.safeParse({ ptyId: 'p', cols: 80.5, rows: 24 }).success).toBe(false);
  });
});

describe('createBridge (window.vivarium)', () => {
  it('has one method per contract entry and nothing else but `on`', () => {
    const bridge = createBridge(fakeTransport(() => ({ ok: true, value: null })).transport) as unknown as Record<string, object>;
    const names = Object.entries(bridge).flatMap(([d, group]) =>
      d === 'on' ? [] : Object.keys(group).map((v) => `${d}:${v}`));
    expect(names.sort()).toEqual([...methodNames].sort());
    expect(Object.keys(bridge).sort()).toEqual([...new Set(methodNames.map((n) => n.split(':')[0]!)), 'on'].sort());
  });

  it('sends the channel and input, and returns the envelope as plain data', async () => {
    const f = fakeTransport(() => ({ ok: true, value: task }));
    const bridge = createBridge(f.transport);
    expect(await bridge.task.cancel({ taskId: 't1' })).toEqual({ ok: true, value: task });
    expect(f.calls).toEqual([['task:cancel', { taskId: 't1' }]]);
  });

  it('turns a broken transport into an error envelope instead of a rejected promise', async () => {
    const bridge = createBridge({ invoke: async () => { throw new Error('socket closed'); }, listen: () => () => {} });
    const res = await bridge.workspace.list();
    expect(res).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(!res.ok && res.error.message).toContain('socket closed');
  });

  it('gives event callbacks only the validated payload, and stops after unsubscribe', () => {
    const f = fakeTransport(() => null);
    const bridge = createBridge(f.transport);
    const seen: unknown[] = [];
    const off = bridge.on('task:changed', (t) => seen.push(t));
    f.push({ event: 'task:changed', payload: task });
    f.push({ event: 'task:changed', payload: { id: 'bad' } });
    f.push({ event: 'workspace:removed', payload: { workspaceId: 'w1' } });
    off();
    f.push({ event: 'task:changed', payload: task });
    expect(seen).toEqual([task]);
    expect(() => bridge.on('nope' as never, () => {})).toThrow(VivError);
  });
});

describe('unwrapBridge (renderer side)', () => {
  it('returns the value when the reply matches the schema', async () => {
    const api = unwrapBridge(createBridge(fakeTransport(() => ({ ok: true, value: [] })).transport));
    expect(await api.workspace.list()).toEqual([]);
  });

  it('rebuilds the VivError with code, message and cause', async () => {
    const error = { code: 'notFound', message: 'Folder /tmp/x no longer exists', cause: { errno: -2 } };
    const api = unwrapBridge(createBridge(fakeTransport(() => ({ ok: false, error })).transport));
    const e = await api.vm.start({ workspaceId: 'w1' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VivError);
    expect(e).toMatchObject(error);
  });

  it('refuses a reply that does not match the output schema', async () => {
    const api = unwrapBridge(createBridge(fakeTransport(() => ({ ok: true, value: { nope: 1 } })).transport));
    await expect(api.task.cancel({ taskId: 't1' })).rejects.toMatchObject({ code: 'internal' });
  });

  it('keeps every event schema strict enough to reject a payload of the wrong type', () => {
    for (const name of eventNames) expect(events[name].safeParse('a string').success, name).toBe(false);
  });
});

describe('agent additions (issue 10)', () => {
  it('accepts a pasted key trimmed, and refuses empty, spaced, non-ASCII or oversized keys without quoting them', () => {
    const set = methods['keys:set'].input;
    expect(set.parse({ api: 'anthropic', key: '  sk-ant-abc_123\n' })).toEqual({ api: 'anthropic', key: 'sk-ant-abc_123' });
    for (const key of ['', '   ', 'sk ant', 'sk-\u00e9', 'sk-\x07', 'x'.repeat(4097)]) {
      const r = set.safeParse({ api: 'anthropic', key });
      expect(r.success, JSON.stringify(key)).toBe(false);
      if (!r.success && key.trim() !== '') expect(JSON.stringify(r.error.issues)).not.toContain(key.trim());
    }
    expect(set.safeParse({ api: 'gemini', key: 'k' }).success).toBe(false);
    expect(methods['keys:clear'].input.safeParse({ api: 'openai', key: 'k' }).success).toBe(false);
  });

  it('carries a tool use as its summary only: raw input is dropped from a step', () => {
    const record = methods['task:steps'].output.parse([{
      taskId: 't1', index: 0, at: 1,
      step: { kind: 'tool-use', id: 'tu1', name: 'Write', summary: 'Write: notes.txt', input: { content: 'secret-ish' } },
    }]);
    expect(record[0]!.step).toEqual({ kind: 'tool-use', id: 'tu1', name: 'Write', summary: 'Write: notes.txt' });
    expect(events['task:step'].safeParse({ taskId: 't1', index: -1, at: 1, step: { kind: 'notice', text: 'x' } }).success).toBe(false);
    expect(events['task:step'].safeParse({ taskId: 't1', index: 0, at: 1, step: { kind: 'thinking', text: 'x' } }).success).toBe(false);
  });

  it('never carries a key in a key status', () => {
    const status = methods['keys:set'].output.parse({ api: 'openai', name: 'OpenAI', envVar: 'OPENAI_API_KEY', stored: true, source: 'app', key: 'sk-x' });
    expect(status).not.toHaveProperty('key');
  });
});
