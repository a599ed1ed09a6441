/**
 * A real agent task from the window (issues 10 and 5): Claude Code in the standard image, in a
 * real VM, reaching a local stand-in for the Messages API (HTTPS on 127.0.0.1; the real API is
 * unreachable here) through the host gateway with the key stored in Settings. The stand-in
 * scripts one Write tool call; the task's steps view shows the assistant's tool step with its
 * result and the final figures, the file appears in the host folder, and the task's network view
 * lists the gateway calls. Skipped (saying why) when the standard image is not built.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMessagesApi, type FakeMessagesApi } from '../../app/main/agents/agents-test-kit.js';
import { makeTestCertificate } from '../../app/main/egress/egress-test-kit.js';
import { openE2e, processesMentioning, type E2eEnv } from './e2e-env.js';
import { SettingsPage } from './pages/settings-page.js';
import { BOOT_BUDGET_MS } from './pages/workspace-page.js';

const ARCH = process.arch === 'arm64' ? 'arm64' : 'x86_64';
const ROOTFS = join(process.cwd(), 'dist', 'guest-standard', ARCH, 'rootfs.ext4');
const MISSING = existsSync(ROOTFS) ? '' : `${ROOTFS} is missing (bash guest-image/standard/build.sh ${ARCH})`;
if (MISSING) console.warn(`agent-task e2e skipped: ${MISSING}`);
const USER_KEY = `sk-ant-e2e-user-${'k3'.repeat(16)}`;
const WRITTEN = 'written by claude, watched from the window\n';
// A VM restart into the standard image, then Claude Code's own start-up, all under TCG.
const AGENT_BUDGET_MS = 2 * BOOT_BUDGET_MS + 300_000;

let env: E2eEnv;
let folder: string;
let api: FakeMessagesApi;

describe.skipIf(MISSING !== '')('an agent task in the window', () => {
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'viv-e2e-agent-'));
    await writeFile(join(folder, 'readme.txt'), 'agent task test\n');
    const tls = await makeTestCertificate();
    api = await startFakeMessagesApi(tls, { name: 'Write', input: { file_path: '/workspace/hello.txt', content: WRITTEN } }, 'Wrote hello.txt.');
    env = await openE2e({ gatewayUpstreams: { anthropic: { baseUrl: api.baseUrl, ca: tls.cert } } });
  });

  afterAll(async () => {
    const dataDir = env?.dataDir;
    await env?.close();
    await api?.close();
    if (dataDir) {
      let left = await processesMentioning(dataDir);
      for (let i = 0; i < 30 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        left = await processesMentioning(dataDir);
      }
      expect(left, 'processes of this test still running after close').toEqual([]);
    }
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await env?.app.saveScreenshot(`failed-${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
  });

  it('stores the key and shares a folder read-write', async () => {
    const settings = new SettingsPage(env.page);
    await settings.open();
    await settings.storeKey('Anthropic', USER_KEY);
    await expect.poll(() => settings.keyStatus('Anthropic')).toBe('Stored in the app');
    const dialog = await env.app.newWorkspace();
    await dialog.check(folder);
    await dialog.chooseMode('rw');
    await dialog.share();
    await env.app.workspace().title.waitFor();
  });

  it("runs Claude Code; the steps show the tool use with its result and the run's figures", async () => {
    const ws = env.app.workspace();
    await ws.root.getByRole('combobox', { name: 'Run as' }).selectOption({ label: 'Claude Code' });
    await ws.root.getByRole('textbox', { name: 'Prompt for Claude Code' }).fill('Write hello.txt in the workspace.');
    await ws.root.getByRole('button', { name: 'Run Claude Code' }).click();
    // The steps view is open from the start: the steps it ends with came as live task:step events.
    const steps = ws.taskDetail.getByTestId('task-steps');
    await ws.taskDetail.getByRole('button', { name: 'Steps', pressed: true }).waitFor();
    await ws.waitForTaskState(/Succeeded|Failed|Cancelled/, AGENT_BUDGET_MS);
    if ((await ws.taskState.innerText()) !== 'Succeeded') {
      const detail = (await ws.taskDetail.innerText()).replace(/\s+/g, ' ');
      await ws.taskDetail.getByRole('button', { name: 'Output' }).click();
      const output = await ws.terminalText(ws.taskOutput).catch(() => '');
      throw new Error(`The agent task did not succeed. The window says: ${detail}\nOutput: ${output.slice(-2000)}`);
    }

    const tool = steps.locator('details', { hasText: 'Write' }).first();
    expect(await tool.locator('summary').innerText()).toMatch(/Write\s*\/workspace\/hello\.txt\s*done/);
    // Collapsed until asked; the keyboard opens it.
    expect(await tool.getAttribute('open')).toBeNull();
    await tool.locator('summary').focus();
    await env.page.keyboard.press('Enter');
    await expect.poll(() => tool.getAttribute('open')).toBe('');
    expect(await tool.getByLabel('Result of Write').innerText()).not.toBe('');
    const final = steps.getByTestId('step-final');
    expect(await final.innerText()).toMatch(/Finished[\s\S]*2 turns/);
    expect(await steps.innerText()).toContain('Wrote hello.txt.');
    await env.app.checkScreen('agents-08-task-steps');
    await env.page.emulateMedia({ colorScheme: 'dark' });
    try {
      await env.app.checkScreen('agents-09-task-steps-dark');
    } finally {
      await env.page.emulateMedia({ colorScheme: 'light' });
    }
  });

  it('wrote the file into the shared folder on the host, with the user\'s key only upstream', async () => {
    expect(await readFile(join(folder, 'hello.txt'), 'utf8')).toBe(WRITTEN);
    expect(api.requests.length).toBeGreaterThanOrEqual(2);
    expect(api.requests.every((r) => r.headers['x-api-key'] === USER_KEY)).toBe(true);
  });

  it("lists the gateway calls in the task's network view, and the raw output beside the steps", async () => {
    const ws = env.app.workspace();
    await ws.taskDetail.getByRole('button', { name: 'Network' }).click();
    const table = ws.taskDetail.getByTestId('gateway-log');
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    const rows = await table.locator('tbody tr').allInnerTexts();
    expect(rows.filter((r) => /Anthropic\s+POST \/v1\/messages\s+Allowed\s+200/.test(r)).length).toBeGreaterThanOrEqual(2);
    await env.app.checkScreen('agents-10-task-network');
    await ws.taskDetail.getByRole('button', { name: 'Output' }).click();
    await expect.poll(() => ws.terminalText(ws.taskOutput), { timeout: 30_000 }).toContain('"type":"result"');
    expect(await env.page.content()).not.toContain(USER_KEY);
    expect(env.pageErrors).toEqual([]);
  });
});
