/**
 * Network egress from the window, against a real VM (issue 7): the Network section validates
 * the allowlist inline; a task reaching a blocked host raises the prompt; "allow once" lets
 * exactly that request through and the next one prompts again; the task's network log shows
 * both and exports them as JSON lines. The test server listens on 127.0.0.1 only.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../app/main/egress/egress-test-kit.js';
import { closeE2e, openE2e, type E2eEnv } from './e2e-env.js';
import { BOOT_BUDGET_MS } from './pages/workspace-page.js';

let env: E2eEnv;
let folder: string;
let origin: Origin;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'viv-e2e-net-'));
  await writeFile(join(folder, 'readme.txt'), 'network test\n');
  origin = await startOrigin();
  env = await openE2e();
});

afterAll(async () => {
  // Closing the window's core stops its VMs: no qemu (or helper) of ours may outlive it.
  const left = await closeE2e(env);
  await origin?.close();
  expect(left, 'processes of this test still running after close').toEqual([]);
  await rm(folder, { recursive: true, force: true });
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await env?.app.saveScreenshot(`failed-${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
});

describe('network egress in the window', () => {
  it('shares a folder; the Network section starts off', async () => {
    const dialog = await env.app.newWorkspace();
    await dialog.check(folder);
    await dialog.share();
    const ws = env.app.workspace();
    await ws.root.getByRole('tab', { name: 'Network' }).click();
    expect(await ws.root.getByRole('radio', { name: /Off/ }).isChecked()).toBe(true);
    await env.app.checkScreen('egress-01-network-off');
  });

  it('shows the core\'s error naming a bad pattern inline, then saves a good list', async () => {
    const ws = env.app.workspace();
    await ws.root.getByRole('radio', { name: /Allow listed hosts/ }).check();
    const hosts = ws.root.getByRole('textbox', { name: /Allowed hosts/ });
    await hosts.fill('api.example.com\nbad host!');
    await ws.root.getByRole('button', { name: 'Save' }).click();
    const error = ws.root.getByRole('alert');
    await expect.poll(() => error.innerText()).toMatch(/^The host pattern "bad host!" is not valid/);
    expect(await hosts.getAttribute('aria-invalid')).toBe('true');
    await env.app.checkScreen('egress-02-invalid-pattern');
    // A host other than the test server: tasks get the proxy, the server itself is not allowed.
    await hosts.fill('api.example.com');
    await ws.root.getByRole('button', { name: 'Save' }).click();
    await ws.root.getByText('Saved. Applies at once').waitFor();
    expect(await error.count()).toBe(0);
    await env.app.checkScreen('egress-03-allowlist');
  });

  it('prompts for a blocked host; "allow once" passes exactly that request, the next prompts again', async () => {
    const ws = env.app.workspace();
    await ws.waitForVm('running', BOOT_BUDGET_MS);
    await ws.tab('Tasks');
    const url = `http://127.0.0.1:${origin.port}/hello`;
    // Not ws.runTask: the prompt may open (and make the rest of the window inert) before the row shows.
    await ws.root.getByRole('textbox', { name: 'Command to run in /workspace' }).fill(`wget -q -O- ${url}; echo " rc=$?"; wget -q -O- ${url}; echo " rc=$?"`);
    await ws.root.getByRole('button', { name: 'Run' }).click();
    const page = env.page;
    const prompt = page.getByRole('dialog', { name: `Allow network access to 127.0.0.1:${origin.port}?` });
    await prompt.waitFor({ timeout: 120_000 });
    expect(await prompt.innerText()).toContain(`GET http://127.0.0.1:${origin.port}`);
    // Focus is inside the dialog, on "Allow once": the keyboard answers it.
    expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Allow once');
    await env.app.checkScreen('egress-04-prompt');
    // Tab never reaches the window behind (inert); past the last button focus leaves the page
    // for the browser itself (body), as with every native modal dialog, then comes back.
    const where: string[] = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      where.push(await page.evaluate('document.activeElement === document.body ? "body" : document.activeElement.closest("dialog") ? document.activeElement.textContent : "OUTSIDE"') as string);
    }
    expect(where).not.toContain('OUTSIDE');
    expect(where).toContain('Deny');
    await prompt.getByRole('button', { name: 'Allow once' }).focus();
    await page.keyboard.press('Enter');
    // The second request is a new prompt (a new dialog instance for the same host).
    const second = page.locator('dialog[open] [data-testid=egress-prompt]');
    await expect.poll(async () => (await env.core.vivarium.egressPrompts((await env.core.vivarium.listWorkspaces())[0]!.id)).length, { timeout: 120_000 }).toBe(1);
    await second.waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await ws.waitForTaskState(/Succeeded/);
    await expect.poll(() => ws.terminalText(ws.taskOutput), { timeout: 20_000 }).toMatch(/hello rc=0[\s\S]* rc=1/);
  });

  it("shows both requests in the task's network log and exports them as JSON lines", async () => {
    const ws = env.app.workspace();
    await ws.taskDetail.getByRole('button', { name: 'Network' }).click();
    const table = ws.root.getByTestId('network-log');
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 20_000 }).toBe(2);
    const rows = await table.locator('tbody tr').allInnerTexts();
    expect(rows[0]).toMatch(new RegExp(`127\\.0\\.0\\.1\\s+${origin.port}\\s+GET\\s+Allowed\\s+allowed once by the user`));
    expect(rows[1]).toMatch(/Blocked\s+.*denied by the user/);
    await env.app.checkScreen('egress-05-network-log');
    const [download] = await Promise.all([
      env.page.waitForEvent('download'),
      ws.root.getByRole('button', { name: 'Export JSON lines' }).click(),
    ]);
    const path = await download.path();
    const lines = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { decision: string; host: string });
    expect(lines.map((l) => [l.host, l.decision])).toEqual([['127.0.0.1', 'allowed'], ['127.0.0.1', 'blocked-by-policy']]);
    expect(env.pageErrors).toEqual([]);
  });
});
