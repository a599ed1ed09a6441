/** Page object for the app's Settings screen (API keys). */
import type { Locator, Page } from 'playwright-core';

export class SettingsPage {
  readonly root: Locator;
  constructor(readonly page: Page) {
    this.root = page.getByRole('main', { name: 'Settings' });
  }

  /** Opens Settings from the sidebar. */
  async open(): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Workspaces' }).getByRole('button', { name: 'Settings' }).click();
    await this.root.waitFor();
  }

  /** The form of one API's key ("Anthropic", "OpenAI"). */
  keyRow(name: string): Locator {
    return this.root.getByRole('form', { name });
  }

  keyField(name: string): Locator {
    return this.root.getByLabel(`${name} API key`);
  }

  /** The words saying where the key comes from. */
  async keyStatus(name: string): Promise<string> {
    return this.keyRow(name).locator('.key-source').innerText();
  }

  /** Types a key and presses Store / Replace. */
  async storeKey(name: string, key: string): Promise<void> {
    await this.keyField(name).fill(key);
    await this.keyRow(name).getByRole('button', { name: /Store key|Replace key/ }).click();
  }
}
