/**
 * The window for agents (issues 10 and 5), as a person uses it, against the real core: API keys
 * in Settings (stored, replaced, cleared, never shown back); the new-task form offering the
 * agent profiles with their image and API, saying when the key is missing and leading to
 * Settings. Light and dark themes are checked with axe and saved as screenshots.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApiSession } from '../../app/main/api/api-session.js';
import { closeE2e, openE2e, type E2eEnv } from './e2e-env.js';
import { SettingsPage } from './pages/settings-page.js';

// Looks like a key, is not one; must never appear in the page once stored.
const KEY = `sk-ant-e2e-${'x7'.repeat(20)}`;
const KEY2 = `sk-ant-e2e-second-${'q4'.repeat(20)}`;

let env: E2eEnv;
let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'viv-e2e-agents-'));
  await writeFile(join(folder, 'readme.txt'), 'agents test\n');
  env = await openE2e();
});

afterAll(async () => {
  // Closing the window's core stops its VMs: no qemu (or helper) of ours may outlive it.
  const left = await closeE2e(env);
  expect(left, 'processes of this test still running after close').toEqual([]);
  await rm(folder, { recursive: true, force: true });
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await env?.app.saveScreenshot(`failed-${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
});

/** Where the core says a key comes from, asked through a contract session of its own. */
async function coreKeySource(api: string): Promise<unknown> {
  const session = createApiSession(env.core.core, () => {});
  try {
    const res = await session.dispatch('keys:list', undefined);
    if (!res.ok) throw new Error(res.error.message);
    return (res.value as { api: string; source: unknown }[]).find((k) => k.api === api)?.source;
  } finally {
    session.dispose();
  }
}

/** The page's markup and the values of its fields: where a key must never be. */
async function pageText(): Promise<string> {
  const values = await env.page.evaluate(() => Array.from(document.querySelectorAll('input, textarea')).map((e) => (e as HTMLInputElement).value).join('\n'));
  return `${await env.page.content()}\n${values}`;
}

describe('API keys in Settings', () => {
  it('lists each API with where its key comes from', async () => {
    const settings = new SettingsPage(env.page);
    await settings.open();
    expect(await settings.keyStatus('Anthropic')).toBe('Not set');
    expect(await settings.keyStatus('OpenAI')).toBe('Not set');
    await env.app.checkScreen('agents-01-settings');
  });

  it('refuses a malformed key in plain words, before sending it', async () => {
    const settings = new SettingsPage(env.page);
    await settings.storeKey('Anthropic', 'sk-ant with space');
    const alert = settings.keyRow('Anthropic').getByRole('alert');
    await expect.poll(() => alert.innerText()).toBe('An API key is printable ASCII characters without spaces or line breaks.');
    expect(await settings.keyField('Anthropic').getAttribute('aria-invalid')).toBe('true');
    expect(await settings.keyStatus('Anthropic')).toBe('Not set');
    await env.app.checkScreen('agents-02-settings-invalid-key');
  });

  it('stores a key, never shows it back, replaces it and clears it', async () => {
    const settings = new SettingsPage(env.page);
    await settings.storeKey('Anthropic', KEY);
    await expect.poll(() => settings.keyStatus('Anthropic')).toBe('Stored in the app');
    expect(await settings.keyField('Anthropic').inputValue()).toBe('');
    await settings.keyRow('Anthropic').getByText('Stored in the app. The key is not shown again.').waitFor();
    expect(await pageText()).not.toContain(KEY);
    // The core holds it: the status comes from keys:list, not from the window's memory.
    expect(await coreKeySource('anthropic')).toBe('app');
    await env.app.checkScreen('agents-03-settings-stored');

    await settings.storeKey('Anthropic', KEY2);
    await settings.keyRow('Anthropic').getByText('Stored in the app. The key is not shown again.').waitFor();
    expect(await pageText()).not.toContain(KEY2);
    await settings.keyRow('Anthropic').getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => settings.keyStatus('Anthropic')).toBe('Not set');
    expect(await settings.keyRow('Anthropic').getByRole('button', { name: 'Clear' }).count()).toBe(0);
  });
});

describe('the new-task form for agents', () => {
  it('offers Claude Code with its image and API, and says the key is missing', async () => {
    const dialog = await env.app.newWorkspace();
    await dialog.check(folder);
    await dialog.share();
    const ws = env.app.workspace();
    await ws.title.waitFor();
    await ws.root.getByRole('combobox', { name: 'Run as' }).selectOption({ label: 'Claude Code' });
    const prompt = ws.root.getByRole('textbox', { name: 'Prompt for Claude Code' });
    await prompt.fill('Write hello.txt saying hi');
    const facts = ws.root.getByTestId('profile-facts');
    await expect.poll(() => facts.innerText()).toMatch(/Standard image \(Debian/);
    expect(await facts.innerText()).toMatch(/Anthropic through the host gateway \(key not set\)/);
    expect(await facts.getByTestId('missing-key').innerText()).toMatch(/Claude Code needs your Anthropic API key, and none is set/);
    expect(await ws.root.getByRole('button', { name: 'Run Claude Code' }).isDisabled()).toBe(true);
    await env.app.checkScreen('agents-04-form-missing-key');
  });

  it('leads to Settings with the key field focused; once stored, the agent can run', async () => {
    const ws = env.app.workspace();
    await ws.root.getByRole('button', { name: 'Add it in Settings' }).click();
    const settings = new SettingsPage(env.page);
    await settings.root.waitFor();
    await expect.poll(() => env.page.evaluate(() => document.activeElement?.id)).toBe('key-anthropic-input');
    // The keyboard alone: type the key (focus is in the field) and press Enter.
    await env.page.keyboard.type(KEY);
    await env.page.keyboard.press('Enter');
    await expect.poll(() => settings.keyStatus('Anthropic')).toBe('Stored in the app');

    await settings.root.getByRole('button', { name: /^Back to viv-e2e-agents-/ }).click();
    await ws.root.getByRole('combobox', { name: 'Run as' }).selectOption({ label: 'Claude Code' });
    const facts = ws.root.getByTestId('profile-facts');
    await expect.poll(() => facts.innerText()).toMatch(/Anthropic through the host gateway \(key stored in the app\)/);
    expect(await facts.getByTestId('missing-key').count()).toBe(0);
    await ws.root.getByRole('textbox', { name: 'Prompt for Claude Code' }).fill('Write hello.txt saying hi');
    expect(await ws.root.getByRole('button', { name: 'Run Claude Code' }).isEnabled()).toBe(true);
    expect(await pageText()).not.toContain(KEY);
    await env.app.checkScreen('agents-05-form-ready');
  });

  it('reads well in the dark theme too', async () => {
    await env.page.emulateMedia({ colorScheme: 'dark' });
    try {
      await env.app.checkScreen('agents-06-form-dark');
      await new SettingsPage(env.page).open();
      await env.app.checkScreen('agents-07-settings-dark');
    } finally {
      await env.page.emulateMedia({ colorScheme: 'light' });
    }
    expect(env.pageErrors).toEqual([]);
  });
});
