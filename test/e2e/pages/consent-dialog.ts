/** Page object for the new-workspace / consent dialog. */
import type { Locator, Page } from 'playwright-core';

export class ConsentDialog {
  readonly root: Locator;
  constructor(readonly page: Page) {
    this.root = page.getByRole('dialog', { name: 'Share a folder with a new workspace' });
  }

  get folderInput(): Locator {
    return this.root.getByRole('textbox', { name: 'Folder' });
  }
  get shareButton(): Locator {
    return this.root.getByRole('button', { name: 'Share folder' });
  }
  get canonicalPath(): Locator {
    return this.root.getByTestId('canonical-path');
  }
  get size(): Locator {
    return this.root.getByTestId('folder-size');
  }
  get warnings(): Locator {
    return this.root.getByRole('group', { name: 'Warnings' });
  }
  get confirmCheckbox(): Locator {
    return this.root.getByRole('checkbox', { name: /I understand the risk/ });
  }
  get refusal(): Locator {
    return this.root.getByRole('alert');
  }

  /** Types a folder path and asks the core to inspect it. */
  async check(path: string): Promise<void> {
    await this.folderInput.fill(path);
    await this.root.getByRole('button', { name: 'Check folder' }).click();
    await this.root.locator('.consent, [role=alert]').first().waitFor();
  }

  async chooseMode(mode: 'ro' | 'rw'): Promise<void> {
    await this.root.getByRole('radio', { name: mode === 'ro' ? /Read-only/ : /Read and write/ }).check();
  }

  async cancel(): Promise<void> {
    await this.root.getByRole('button', { name: 'Cancel' }).click();
    await this.root.waitFor({ state: 'hidden' });
  }

  async share(): Promise<void> {
    await this.shareButton.click();
    await this.root.waitFor({ state: 'hidden' });
  }
}
