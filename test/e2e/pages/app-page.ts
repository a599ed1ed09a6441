/** Page object for the whole window: sidebar, new-workspace dialog, screenshots, axe. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { seriousAxeViolations } from '../axe-check.js';
import { ConsentDialog } from './consent-dialog.js';
import { WorkspacePage } from './workspace-page.js';

/** Where screenshots go, for people to review. */
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'e2e');

export class AppPage {
  constructor(readonly page: Page) {}

  get sidebar(): Locator {
    return this.page.getByRole('navigation', { name: 'Workspaces' });
  }

  /** Opens "New workspace" and returns the dialog. */
  async newWorkspace(): Promise<ConsentDialog> {
    await this.sidebar.getByRole('button', { name: 'New workspace' }).click();
    const d = new ConsentDialog(this.page);
    await d.root.waitFor();
    return d;
  }

  /** The new-workspace dialog (whether or not it is open). */
  consentDialog(): ConsentDialog {
    return new ConsentDialog(this.page);
  }

  /** The open workspace's view. */
  workspace(): WorkspacePage {
    return new WorkspacePage(this.page);
  }

  /** Saves a full-page screenshot as test-results/e2e/<name>.png. */
  async saveScreenshot(name: string): Promise<void> {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await this.page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  }

  /** Saves a screenshot of the screen and checks it with axe: no serious or critical violations. */
  async checkScreen(name: string): Promise<void> {
    await this.saveScreenshot(name);
    const problems = await seriousAxeViolations(this.page);
    expect(problems, `axe on "${name}": ${JSON.stringify(problems, null, 1)}`).toEqual([]);
  }
}
