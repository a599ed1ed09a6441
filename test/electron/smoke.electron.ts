// Smoke test of the real desktop app: the packaged build (out/packages/*-unpacked) when there is
// one, else the development build (dist/, from scripts/build-app.mjs) run by node_modules' Electron.
// Checks what a user and an attacker would notice first: the window opens on app://, the page
// has no Node, navigation away is refused, and a task runs in a real VM.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppPage } from '../e2e/pages/app-page.js';

const root = process.cwd();

function launchTarget(): { executablePath: string; args: string[] } {
  const out = join(root, 'out', 'packages');
  const unpacked = existsSync(out) ? readdirSync(out).find((d) => d.endsWith('-unpacked')) : undefined;
  if (unpacked) {
    const dir = join(out, unpacked);
    const exe = readdirSync(dir).find((f) => f === 'vivarium' || f === 'Vivarium.exe');
    if (exe) return { executablePath: join(dir, exe), args: [] };
  }
  const pathTxt = join(root, 'node_modules', 'electron', 'path.txt');
  if (!existsSync(pathTxt)) throw new Error('No Electron binary: run `npm start` once on a machine that can download it.');
  return { executablePath: join(root, 'node_modules', 'electron', 'dist', readFileSync(pathTxt, 'utf8').trim()), args: [root] };
}

describe('the desktop app', () => {
  let app: ElectronApplication;
  let page: Page;
  let userData: string;
  let folder: string;

  beforeAll(async () => {
    userData = mkdtempSync(join(tmpdir(), 'viv-electron-data-'));
    folder = mkdtempSync(join(tmpdir(), 'viv-electron-site-'));
    writeFileSync(join(folder, 'hello.txt'), 'hello from the host\n');
    const target = launchTarget();
    app = await electron.launch({ ...target, env: { ...process.env, VIVARIUM_USER_DATA: userData } });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });

  afterAll(async () => {
    await app?.close();
    rmSync(userData, { recursive: true, force: true });
    rmSync(folder, { recursive: true, force: true });
  });

  it('opens one window on app:// with the sandbox on', async () => {
    expect(page.url()).toBe('app://vivarium/index.html');
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
    const api = await page.evaluate(() => Object.keys((globalThis as unknown as { vivarium: object }).vivarium).sort());
    expect(api).toEqual(expect.arrayContaining(['folder', 'task', 'vm', 'workspace', 'on']));
    // The CSP arrives with the page (served by the app:// handler).
    expect(await page.evaluate(async () => (await fetch('app://vivarium/index.html')).headers.get('content-security-policy')))
      .toContain("script-src 'self'");
  });

  it('refuses to navigate away or open windows', async () => {
    await page.evaluate(() => { location.href = 'https://example.com/'; });
    await page.waitForTimeout(500);
    expect(page.url()).toBe('app://vivarium/index.html');
    await page.evaluate(() => window.open('https://example.com/'));
    await page.waitForTimeout(500);
    expect(app.windows()).toHaveLength(1);
  });

  it('shares a folder and runs a task in a real VM', async () => {
    const ui = new AppPage(page);
    const dialog = await ui.newWorkspace();
    await dialog.check(folder);
    await dialog.share();
    const ws = ui.workspace();
    await ws.waitForVm('running');
    await ws.runTask('cat /workspace/hello.txt');
    await ws.waitForTaskState(/Succeeded/);
    expect(await ws.terminalText(ws.taskOutput)).toContain('hello from the host');
  });
});
