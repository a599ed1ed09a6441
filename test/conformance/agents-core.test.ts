// Agents through the core (issue 10), on real VMs under TCG: a workspace runs a plain task in the
// tiny image, then a Claude Code task, which restarts the VM with the standard image (attached
// read-only); Claude Code in the guest reaches a local stand-in for the Messages API only through
// the VM's API gateway, which adds the user's key on the host. The scripted Write lands in the
// host folder, the task's steps show it, the gateway log has the calls, and the user's key is in
// no environment, /proc/*/environ or file of the guest. Needs the tiny image (`npm run
// guest:build`) and the standard one (`bash guest-image/standard/build.sh x86_64`); skipped with
// the reason otherwise.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskStepRecord } from '../../app/shared/contract-schemas.js';
import { startFakeMessagesApi, startFakeResponsesApi, type FakeMessagesApi } from '../../app/main/agents/agents-test-kit.js';
import type { Vivarium } from '../../app/main/core/vivarium.js';
import { RESTARTING, RESTART_WAITING } from '../../app/main/core/workspace-images.js';
import { makeTestCertificate } from '../../app/main/egress/egress-test-kit.js';
import { MemoryKeyStore } from '../../app/main/gateway/key-store.js';
import { hostGuestArch, loadGuestImage } from '../../app/main/image/guest-image.js';
import { defaultStandardDir } from '../../app/main/image/standard-image.js';
import { eventually, openCore, processesMentioning, REPO, scratch } from './core-support.js';

const USER_KEY = `sk-ant-user-${randomBytes(12).toString('hex')}`;
const OPENAI_KEY = `sk-proj-user-${randomBytes(12).toString('hex')}`;
const arch = hostGuestArch();

async function missing(): Promise<string> {
  try {
    await loadGuestImage(arch);
  } catch (e) {
    return `the tiny guest image is not usable (${(e as Error).message})`;
  }
  const rootfs = join(defaultStandardDir(join(REPO, 'dist', 'guest')), arch, 'rootfs.ext4');
  if (!existsSync(rootfs)) return `${rootfs} is missing (bash guest-image/standard/build.sh ${arch})`;
  if (process.getuid?.() !== 0) return 'runs as root (9p share ownership of files the agent writes)';
  return '';
}
const why = await missing();
if (why) console.warn(`agents-core: skipped: ${why}`);

let base: { dir: string; cleanup: () => Promise<void> };
let share: string;
let core: Vivarium;
let ws: string;
let api: FakeMessagesApi;
let openai: FakeMessagesApi;
const steps: TaskStepRecord[] = [];
const statuses: string[] = [];
const figures: Record<string, number> = {};

describe.skipIf(why !== '')(`agents through the core (${arch}, TCG)`, () => {
  beforeAll(async () => {
    base = await scratch('agents');
    share = join(base.dir, 'share');
    await mkdir(share);
    const tls = await makeTestCertificate();
    api = await startFakeMessagesApi(tls, { name: 'Write', input: { file_path: '/workspace/hello.txt', content: 'written by claude through the core\n' } });
    openai = await startFakeResponsesApi(tls, 'echo written by codex > /workspace/codex.txt', 'Codex is done.');
    const keys = new MemoryKeyStore();
    await keys.set('anthropic', USER_KEY);
    await keys.set('openai', OPENAI_KEY);
    core = await openCore(join(base.dir, 'data'), {
      keys,
      gatewayUpstreams: { anthropic: { baseUrl: api.baseUrl, ca: tls.cert }, openai: { baseUrl: openai.baseUrl, ca: tls.cert } },
      vmTimeouts: { connectMs: 300_000, stopMs: 20_000 },
    });
    ws = (await core.createWorkspace(share, 'rw', false)).id;
    core.subscribe((e) => {
      if (e.event === 'task:step') steps.push(e.payload);
      if (e.event === 'task:changed' && e.payload.statusLine && statuses.at(-1) !== e.payload.statusLine) statuses.push(e.payload.statusLine);
    });
  }, 120_000);

  afterAll(async () => {
    await core?.close();
    await api?.close();
    await openai?.close();
    if (base) {
      expect(await processesMentioning(base.dir)).toEqual([]);
      await base.cleanup();
    }
    console.log(`agents-core figures: ${JSON.stringify(figures)}`);
  });

  it('runs a plain task in the tiny image', async () => {
    const t0 = performance.now();
    const t = await core.startTask(ws, 'test -f /etc/debian_version && echo standard || echo tiny', null);
    const done = await core.tasks.waitFor(t.id);
    figures.tinyTaskMs = Math.round(performance.now() - t0);
    expect(done).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect((await core.readTaskOutput(t.id, 0, 100)).data).toBe('tiny\n');
    expect(core.runningImage(ws)).toBe('tiny');
  }, 400_000);

  it('restarts the VM with the standard image for Claude Code once the running task ended; its scripted Write lands on the host and shows as steps', async () => {
    // A task still running in the tiny VM (until the test lets it end): the agent waits for it
    // instead of cutting it off, and says so.
    const busy = await core.startTask(ws, 'echo waiting; while [ ! -f /workspace/.go ]; do sleep 0.2; done; echo slept', null);
    expect(await eventually(async () => (await core.readTaskOutput(busy.id, 0, 100)).data === 'waiting\n', 60_000)).toBe(true);
    const t0 = performance.now();
    const t = await core.startTask(ws, 'Write hello.txt in the workspace.', 'claude-code');
    const waited = await eventually(() => statuses.includes(RESTART_WAITING), 120_000);
    expect(core.tasks.get(busy.id).state).toBe('running');
    await writeFile(join(share, '.go'), '');
    expect(waited).toBe(true);
    expect(t.command).toBe('Write hello.txt in the workspace.');
    const done = await core.tasks.waitFor(t.id);
    figures.claudeTaskWithRestartMs = Math.round(performance.now() - t0);
    const out = (await core.readTaskOutput(t.id, 0, 1 << 20)).data;
    expect(done, out.slice(-3000)).toMatchObject({ state: 'succeeded', exitCode: 0, statusLine: 'Done in 2 turns' });
    expect(core.runningImage(ws)).toBe('standard');
    expect(await core.tasks.waitFor(busy.id)).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect((await core.readTaskOutput(busy.id, 0, 100)).data).toBe('waiting\nslept\n');
    expect(statuses.filter((l) => l === RESTART_WAITING || l === RESTARTING)).toEqual([RESTART_WAITING, RESTARTING]);
    expect(await readFile(join(share, 'hello.txt'), 'utf8')).toBe('written by claude through the core\n');

    const stored = await core.taskSteps(t.id);
    expect(stored.map((s) => s.step.kind)).toEqual(['session', 'tool-use', 'tool-result', 'text', 'result']);
    expect(stored[1]!.step).toEqual({ kind: 'tool-use', id: expect.any(String), name: 'Write', summary: 'Write: /workspace/hello.txt' });
    expect(stored[2]!.step).toMatchObject({ kind: 'tool-result', toolName: 'Write', isError: false });
    expect(stored.at(-1)!.step).toMatchObject({ kind: 'result', ok: true, turns: 2 });
    expect(steps.filter((s) => s.taskId === t.id)).toEqual(stored);

    // Every upstream call carried the user's key, which the guest never had.
    expect(api.requests.length).toBeGreaterThanOrEqual(2);
    expect(api.requests.every((r) => r.headers['x-api-key'] === USER_KEY)).toBe(true);
    const log = await core.gatewayLog(t.id);
    expect(log.length).toBe(api.requests.length);
    expect(log.every((r) => r.taskId === t.id && r.decision === 'allowed' && r.status === 200 && r.api === 'anthropic')).toBe(true);
    expect(log.some((r) => r.outputTokens === 20)).toBe(true);
  }, 900_000);

  it('runs Codex CLI through the gateway against a stand-in Responses API: its shell call writes in the workspace', async () => {
    const t0 = performance.now();
    const t = await core.startTask(ws, 'Write codex.txt in the workspace.', 'codex');
    const done = await core.tasks.waitFor(t.id);
    figures.codexTaskMs = Math.round(performance.now() - t0);
    const out = (await core.readTaskOutput(t.id, 0, 1 << 20)).data;
    const log = await core.gatewayLog(t.id);
    expect(done, `${out.slice(-3000)}\n${JSON.stringify(log)}`).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(existsSync(join(share, 'codex.txt')), out.slice(-3000)).toBe(true);
    expect(await readFile(join(share, 'codex.txt'), 'utf8')).toBe('written by codex\n');
    expect(out).toContain('Codex is done.');
    const calls = openai.requests.filter((r) => r.url.startsWith('/v1/responses'));
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(openai.requests.every((r) => r.headers.authorization === `Bearer ${OPENAI_KEY}`)).toBe(true);
    expect(log.filter((r) => r.decision === 'allowed' && r.endpoint === '/v1/responses' && r.status === 200).length).toBe(calls.length);
    expect(log.some((r) => r.inputTokens === 30 && r.outputTokens === 12)).toBe(true);
  }, 600_000);

  it("finds the user's key in no environment, /proc/*/environ or file of the guest (a planted canary is found)", async () => {
    const canary = `CANARY-${randomBytes(8).toString('hex')}`;
    // The merged root except the image's own 1 GB of programs (/usr, /opt), then everything written
    // since boot: the overlay's upper layer (guest-image/init keeps it at /run/vivarium/rw/upper).
    const search = (needle: string): string =>
      `env; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'; echo ENV-END; ` +
      `grep -rIl --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev --exclude-dir=usr --exclude-dir=opt -- '${needle}' / 2>/dev/null; ` +
      `test -d /run/vivarium/rw/upper && grep -rl -- '${needle}' /run/vivarium/rw/upper; echo FILES-END`;
    const plant = await core.startTask(ws, `echo ${canary} > /root/canary.txt && mkdir -p /usr/local/share/x && echo ${canary} > /usr/local/share/x/canary-3`, null);
    expect((await core.tasks.waitFor(plant.id)).state).toBe('succeeded');
    const probe = await core.startTask(ws, search(canary), null);
    expect((await core.tasks.waitFor(probe.id)).state).toBe('succeeded');
    const found = (await core.readTaskOutput(probe.id, 0, 1 << 22)).data;
    expect(found).toContain('/root/canary.txt');
    expect(found).toContain('/run/vivarium/rw/upper/usr/local/share/x/canary-3');
    for (const key of [USER_KEY, OPENAI_KEY]) {
      const t = await core.startTask(ws, search(key), null);
      const done = await core.tasks.waitFor(t.id);
      const text = (await core.readTaskOutput(t.id, 0, 1 << 22)).data;
      expect(done.state).toBe('succeeded');
      expect(text).toContain('ENV-END');
      expect(text).not.toContain(key);
      expect(text.split('ENV-END')[1]).toBe('\nFILES-END\n');
    }
  }, 600_000);
});
