/**
 * One end-to-end environment: a real core on a fresh data folder, the harness serving the
 * built renderer, and Debian's Chromium (headless) showing it. `close` tears all of it down,
 * VMs included, and fails loudly if the page logged errors.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { openRealCore, type RealCore, type RealCoreOptions } from '../harness/real-core.js';
import { startHarness, type Harness } from '../harness/harness-server.js';
import { AppPage } from './pages/app-page.js';

/** Chromium flags for a quiet, headless, reproducible run (no sandbox: CI runs as root). */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run',
];

export interface E2eEnv {
  page: Page;
  app: AppPage;
  context: BrowserContext;
  browser: Browser;
  harness: Harness;
  core: RealCore;
  /** The core's data folder (VM files live under it; qemu's command line names it). */
  dataDir: string;
  /** Errors the page threw or logged; a test asserts it stays empty. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Starts core, harness and browser, and opens the window. */
export async function openE2e(opts: { colorScheme?: 'light' | 'dark' } & Omit<RealCoreOptions, 'dataDir'> = {}): Promise<E2eEnv> {
  const dataDir = await mkdtemp(join(tmpdir(), 'viv-e2e-data-'));
  const core = await openRealCore({ dataDir, keyEnv: opts.keyEnv, gatewayUpstreams: opts.gatewayUpstreams });
  let harness: Harness | null = null;
  let browser: Browser | null = null;
  try {
    harness = await startHarness({ core: core.core, rendererDir: join(process.cwd(), 'dist', 'renderer') });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1180, height: 760 }, colorScheme: opts.colorScheme ?? 'light' });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console.error: ${m.text()}`);
    });
    await page.goto(harness.url);
    // Generous: on a loaded 2-core machine the first paint can take a while.
    await page.getByRole('navigation', { name: 'Workspaces' }).waitFor({ timeout: 120_000 }).catch((e: unknown) => {
      throw new Error(`The window did not render: ${e instanceof Error ? e.message : String(e)}\nPage errors: ${pageErrors.join('\n') || 'none'}`);
    });
    const h = harness;
    const b = browser;
    return {
      page, app: new AppPage(page), context, browser: b, harness: h, core, dataDir, pageErrors,
      async close() {
        await b.close().catch(() => {});
        await h.close().catch(() => {});
        await core.dispose();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await browser?.close().catch(() => {});
    await harness?.close().catch(() => {});
    await core.dispose();
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}

/** Pids of live processes whose command line mentions `needle` (e.g. a data folder). */
export async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) pids.push(Number(name));
  }
  return pids;
}

/**
 * Closes `env` (its core stops its VMs) and returns the pids of its processes (qemu, helper)
 * still alive after up to 15 s; a test expects none.
 */
export async function closeE2e(env: E2eEnv | undefined): Promise<number[]> {
  if (!env) return [];
  await env.close();
  let left = await processesMentioning(env.dataDir);
  for (let i = 0; i < 30 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 500));
    left = await processesMentioning(env.dataDir);
  }
  return left;
}
