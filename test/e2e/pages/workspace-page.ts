/** Page object for one workspace: VM bar, grant, tabs, tasks, task detail, terminal, settings. */
import type { Locator, Page } from 'playwright-core';

/** Milliseconds a VM may take to boot under TCG on a busy 2-core machine. */
export const BOOT_BUDGET_MS = 240_000;

export class WorkspacePage {
  readonly root: Locator;
  constructor(readonly page: Page) {
    this.root = page.getByRole('main');
  }

  get title(): Locator {
    return this.root.getByRole('heading', { level: 1 });
  }
  get vmStatus(): Locator {
    return this.root.getByTestId('vm-status');
  }
  get grant(): Locator {
    return this.root.getByTestId('grant');
  }
  get taskDetail(): Locator {
    return this.root.getByTestId('task-detail');
  }
  get taskState(): Locator {
    return this.taskDetail.getByTestId('task-state');
  }
  get taskOutput(): Locator {
    return this.root.getByTestId('task-output');
  }

  /**
   * Waits until the VM reports `state` (data-state on the status line). Fails at once, with the
   * words the window shows, when the VM fails or an error appears instead.
   */
  async waitForVm(state: string, timeout = BOOT_BUDGET_MS): Promise<void> {
    const wanted = this.root.locator(`[data-testid=vm-status][data-state=${state}]`);
    const trouble = this.root.locator('[data-testid=vm-status][data-state=failed], section[aria-label="Virtual machine"] [role=alert]');
    await wanted.or(trouble).first().waitFor({ timeout });
    if (!(await wanted.isVisible())) {
      const bar = await this.root.getByRole('region', { name: 'Virtual machine' }).innerText();
      throw new Error(`The VM did not reach "${state}"; the window says: ${bar.replace(/\s+/g, ' ')}`);
    }
  }

  async tab(name: 'Tasks' | 'Terminal' | 'Settings'): Promise<void> {
    await this.root.getByRole('tab', { name }).click();
  }

  /** Runs a command from the new-task form; the new task becomes the selected one. */
  async runTask(command: string): Promise<void> {
    const before = await this.root.getByRole('option').count();
    await this.root.getByRole('textbox', { name: 'Command to run in /workspace' }).fill(command);
    await this.root.getByRole('button', { name: 'Run' }).click();
    await this.root.getByRole('option').nth(before).waitFor();
    await this.taskDetail.locator('code', { hasText: command.slice(0, 40) }).first().waitFor();
  }

  /** Waits for the selected task to reach one of the given states (as the UI words them). */
  async waitForTaskState(words: RegExp, timeout = 120_000): Promise<void> {
    await this.taskDetail.getByTestId('task-state').filter({ hasText: words }).waitFor({ timeout });
  }

  /** The visible text of an xterm view (its DOM renderer rows). */
  async terminalText(view: Locator): Promise<string> {
    return view.locator('.xterm-rows').innerText();
  }

  /** The terminal tab's xterm view. */
  get terminal(): Locator {
    return this.root.getByTestId('terminal');
  }
}
