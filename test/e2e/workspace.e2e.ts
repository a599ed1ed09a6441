/**
 * The scenarios, as a person would do them, against real VMs: consent, boot, tasks
 * with output and progress, cancel, hostile output, the terminal, settings, revoke.
 * One VM boot serves the whole file (boots under TCG are slow); steps run in order.
 */
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeE2e, openE2e, processesMentioning, type E2eEnv } from './e2e-env.js';
import { BOOT_BUDGET_MS } from './pages/workspace-page.js';

let env: E2eEnv;
let folder: string;
let secretsFolder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'viv-e2e-site-'));
  await writeFile(join(folder, 'alpha-notes.txt'), 'hello from the host\n');
  await writeFile(join(folder, 'beta-report.md'), '# report\n');
  await mkdir(join(folder, 'src'));
  await writeFile(join(folder, 'src', 'main.c'), 'int main(void) { return 0; }\n');
  secretsFolder = await mkdtemp(join(tmpdir(), 'viv-e2e-secrets-'));
  await writeFile(join(secretsFolder, '.env'), 'API_KEY=not-a-real-key\n');
  env = await openE2e();
});

afterAll(async () => {
  // Closing the window's core stops its VMs: no qemu (or helper) of ours may outlive it.
  const left = await closeE2e(env);
  expect(left, 'processes of this test still running after close').toEqual([]);
  await rm(folder, { recursive: true, force: true });
  await rm(secretsFolder, { recursive: true, force: true });
});

afterEach(async (ctx) => {
  // A failed step leaves a picture of what the person would have seen.
  if (ctx.task.result?.state === 'fail') await env?.app.saveScreenshot(`failed-${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
});

describe('the window against real VMs', () => {
  it('starts empty and invites sharing a folder', async () => {
    await env.page.getByRole('heading', { name: /Run tasks in a VM/ }).waitFor();
    await env.app.checkScreen('01-welcome');
  });

  it('refuses the filesystem root in the consent dialog', async () => {
    const dialog = await env.app.newWorkspace();
    await dialog.check('/');
    await expect.poll(() => dialog.refusal.innerText()).toMatch(/cannot be shared/);
    expect(await dialog.shareButton.isDisabled()).toBe(true);
    await env.app.checkScreen('02-consent-refused');
    await dialog.cancel();
  });

  it('asks for a second confirmation for a folder holding secrets', async () => {
    const dialog = await env.app.newWorkspace();
    await dialog.check(secretsFolder);
    await expect.poll(() => dialog.warnings.innerText()).toContain('.env');
    expect(await dialog.shareButton.isDisabled()).toBe(true);
    await dialog.confirmCheckbox.check();
    expect(await dialog.shareButton.isEnabled()).toBe(true);
    await env.app.checkScreen('03-consent-warning');
    await dialog.cancel();
  });

  it('works from the keyboard: open the dialog, check a folder, close with Escape', async () => {
    const page = env.page;
    let focused = '';
    for (let i = 0; i < 10 && !focused.includes('New workspace'); i++) {
      await page.keyboard.press('Tab');
      focused = (await page.evaluate('document.activeElement && document.activeElement.tagName === "BUTTON" ? document.activeElement.textContent : ""')) as string;
    }
    expect(focused).toContain('New workspace');
    await page.keyboard.press('Enter');
    const dialog = env.app.consentDialog();
    await dialog.root.waitFor();
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('folder-path');
    await page.keyboard.type(folder);
    await page.keyboard.press('Enter');
    await dialog.canonicalPath.waitFor();
    await page.keyboard.press('Escape');
    await dialog.root.waitFor({ state: 'hidden' });
  });

  it('says in plain words why a folder that vanished cannot be shared, with details on request', async () => {
    const gone = await mkdtemp(join(tmpdir(), 'viv-e2e-gone-'));
    const dialog = await env.app.newWorkspace();
    await dialog.check(gone);
    await rm(gone, { recursive: true });
    await dialog.shareButton.click();
    const alert = dialog.root.getByRole('alert');
    await expect.poll(() => alert.innerText()).toContain(`The folder ${gone} does not exist.`);
    expect(await alert.innerText()).not.toContain('notFound');
    await alert.getByRole('button', { name: 'Details' }).click();
    await expect.poll(() => alert.innerText()).toContain('"code": "notFound"');
    await env.app.checkScreen('04-error-details');
    await dialog.cancel();
  });

  it('shares a folder through the consent dialog and boots its VM', async () => {
    const dialog = await env.app.newWorkspace();
    await dialog.check(folder);
    expect(await dialog.canonicalPath.innerText()).toBe(await realpath(folder));
    expect(await dialog.size.innerText()).toMatch(/^3 files, /);
    await expect.poll(() => dialog.root.getByText('The VM will not see').count()).toBe(1);
    await env.app.checkScreen('04-consent');
    await dialog.share();

    const ws = env.app.workspace();
    expect(await ws.grant.innerText()).toContain(await realpath(folder));
    expect(await ws.grant.innerText()).toContain('Read-only');
    await ws.waitForVm('running', BOOT_BUDGET_MS);
    expect(await ws.vmStatus.innerText()).toMatch(/VM running\s*· booted in \d/);
    // The VM is a real qemu process working on this test's data folder (checked gone at the end).
    expect((await processesMentioning(env.dataDir)).length).toBeGreaterThan(0);
    await env.app.checkScreen('05-workspace-running');
  });

  it("runs `ls /workspace` and shows the folder's file names", async () => {
    const ws = env.app.workspace();
    await ws.runTask('ls /workspace');
    await ws.waitForTaskState(/Succeeded/);
    await expect.poll(() => ws.terminalText(ws.taskOutput), { timeout: 20_000 }).toMatch(/alpha-notes\.txt[\s\S]*beta-report\.md[\s\S]*src/);
  });

  it('moves the progress bar to 100 % from OSC 9;4 sequences', async () => {
    const ws = env.app.workspace();
    await ws.runTask(`for p in 0 20 40 60 80 100; do printf '\\033]9;4;1;%d\\007' $p; echo "step $p"; sleep 1; done`);
    const bar = ws.taskDetail.getByRole('progressbar', { name: 'Task progress' });
    const seen = new Set<string>();
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      seen.add((await bar.getAttribute('data-percent')) ?? '');
      if ((await ws.taskState.innerText()) === 'Succeeded') break;
      await env.page.waitForTimeout(150);
    }
    seen.add((await bar.getAttribute('data-percent')) ?? '');
    expect(await ws.taskState.innerText()).toBe('Succeeded');
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    expect(await ws.taskDetail.getByTestId('task-percent').innerText()).toBe('100 %');
    // The bar moved: at least one value strictly between 0 and 100 was shown on the way.
    expect([...seen].some((v) => Number(v) > 0 && Number(v) < 100), `values seen: ${[...seen].join(',')}`).toBe(true);
    await env.app.checkScreen('06-task-progress');
  });

  it('shows hostile output (HTML, OSC 8 links) as text and runs nothing', async () => {
    const ws = env.app.workspace();
    const popups: string[] = [];
    env.context.on('page', (p) => popups.push(p.url()));
    await ws.runTask(
      `printf '<img src=x onerror="window.__pwned=1">\\n<script>window.__pwned=2</script>\\n'; ` +
        `printf '\\033]8;;javascript:window.__pwned=3\\033\\\\click-me-js\\033]8;;\\033\\\\\\n'; ` +
        `printf '\\033]8;;https://example.invalid/\\033\\\\click-me-web\\033]8;;\\033\\\\\\n'`,
    );
    await ws.waitForTaskState(/Succeeded/);
    await expect.poll(() => ws.terminalText(ws.taskOutput), { timeout: 20_000 }).toContain('click-me-web');
    const text = await ws.terminalText(ws.taskOutput);
    expect(text).toContain('<img src=x onerror="window.__pwned=1">');
    expect(text).toContain('<script>window.__pwned=2</script>');
    // Click where a person would: on the link text, in its terminal row (xterm's screen layer
    // takes the pointer events, as it does for a person).
    for (const label of ['click-me-js', 'click-me-web']) {
      const row = ws.taskOutput.locator('.xterm-rows > div', { hasText: label });
      const box = await row.boundingBox();
      expect(box, label).not.toBeNull();
      await env.page.mouse.move(box!.x + 20, box!.y + box!.height / 2);
      await env.page.mouse.click(box!.x + 20, box!.y + box!.height / 2);
    }
    expect(await ws.taskDetail.getByRole('progressbar').count()).toBe(0); // no progress was reported
    await env.page.waitForTimeout(500);
    expect(await env.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await env.page.locator('img').count()).toBe(0);
    expect(await ws.taskOutput.locator('script').count()).toBe(0);
    expect(popups).toEqual([]);
    expect(env.page.url()).toContain(env.harness.origin);
  });

  it('cancels a long task', async () => {
    const ws = env.app.workspace();
    await ws.runTask('sleep 600');
    await ws.waitForTaskState(/Running/);
    await ws.taskDetail.getByRole('button', { name: 'Cancel task' }).click();
    await ws.waitForTaskState(/Cancelled/, 60_000);
    await env.app.checkScreen('07-task-cancelled');
  });

  it('opens an interactive terminal and runs a command in it', async () => {
    const ws = env.app.workspace();
    await ws.tab('Terminal');
    await ws.terminal.waitFor();
    await expect.poll(() => ws.terminalText(ws.terminal), { timeout: 60_000 }).toMatch(/[#$] ?\s*$/m);
    await ws.terminal.click();
    await env.page.keyboard.type('echo "term-$((6*7))" && pwd\n');
    await expect.poll(() => ws.terminalText(ws.terminal), { timeout: 30_000 }).toMatch(/term-42\s+\/workspace/);
    await env.app.checkScreen('08-terminal');
    await env.page.keyboard.type('exit 0\n');
    await ws.root.getByText('The shell ended (exit code 0).').waitFor({ timeout: 30_000 });
    await ws.root.getByRole('button', { name: 'New shell' }).click();
    await expect.poll(() => ws.terminalText(ws.terminal), { timeout: 60_000 }).toMatch(/\/workspace # ?\s*$/m);
  });

  it('edits the VM settings', async () => {
    const ws = env.app.workspace();
    await ws.tab('Settings');
    await ws.root.getByRole('spinbutton', { name: 'Memory (MiB)' }).fill('640');
    await ws.root.getByRole('button', { name: 'Save' }).click();
    await ws.root.getByText(/Saved\./).waitFor();
    await env.app.checkScreen('09-settings');
    await ws.tab('Tasks');
  });

  it('follows the system dark theme', async () => {
    await env.page.emulateMedia({ colorScheme: 'dark' });
    const bg = await env.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(30, 31, 34)');
    await env.app.checkScreen('10-workspace-dark');
    await env.page.emulateMedia({ colorScheme: 'light' });
    expect(await env.page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(255, 255, 255)');
  });

  it('revokes the grant and the VM stops', async () => {
    const ws = env.app.workspace();
    await ws.root.getByRole('button', { name: 'Revoke access…' }).click();
    await ws.root.getByRole('group', { name: 'Confirm revoking access' }).getByRole('button', { name: 'Revoke' }).click();
    await ws.waitForVm('stopped', 120_000);
    await expect.poll(() => ws.grant.innerText()).toContain('Access revoked');
    await env.app.checkScreen('11-revoked');
  });

  it('removes the revoked workspace', async () => {
    const ws = env.app.workspace();
    await ws.root.getByRole('button', { name: 'Remove workspace…' }).click();
    await ws.root.getByRole('group', { name: 'Confirm removing the workspace' }).getByRole('button', { name: 'Remove' }).click();
    await env.page.getByRole('heading', { name: /Run tasks in a VM/ }).waitFor();
    expect(await env.app.sidebar.getByRole('listitem').count()).toBe(0);
  });

  it('logged no errors in the page', () => {
    expect(env.pageErrors).toEqual([]);
  });
});
