/**
 * The only file of main that touches ipcMain (STYLE.md rule 2). One handler per contract
 * method, registered in a loop; each handler checks the sender before anything else, then
 * hands the untrusted input to the window's API session, which validates it.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { EVENT_CHANNEL, methodNames, type EventEnvelope, type MethodName, type Result } from '../../shared/contract.js';
import { createApiSession, type ApiSession, type ShellServices } from '../api/api-session.js';
import type { WindowCore } from '../api/window-core.js';
import { isTrustedSender } from './trusted-sender.js';

/** Routes IPC calls from our windows to per-window API sessions. */
export class IpcHub {
  private readonly sessions = new Map<number, ApiSession>();

  constructor(private readonly core: WindowCore, private readonly onCall?: (name: MethodName, input: unknown) => void) {}

  /** Registers every contract method once. MUST be called once, before any window loads. */
  register(): void {
    for (const name of methodNames) ipcMain.handle(name, (event, input: unknown) => this.handle(name, event, input));
  }

  /** Gives `win` its own session; it is disposed (PTYs closed) when the window goes away. */
  attach(win: BrowserWindow, services: ShellServices): void {
    const contents = win.webContents;
    const id = contents.id;
    const session = createApiSession(this.core, (envelope: EventEnvelope) => {
      if (!contents.isDestroyed()) contents.send(EVENT_CHANNEL, envelope);
    }, services);
    this.sessions.set(id, session);
    contents.once('destroyed', () => {
      session.dispose();
      this.sessions.delete(id);
    });
  }

  /** Sends an event to every window (e.g. "open this task" after a notification click). */
  broadcast(envelope: EventEnvelope, windows: readonly BrowserWindow[]): void {
    for (const w of windows) if (!w.isDestroyed() && this.sessions.has(w.webContents.id)) w.webContents.send(EVENT_CHANNEL, envelope);
  }

  private async handle(name: MethodName, event: IpcMainInvokeEvent, input: unknown): Promise<Result> {
    const frame = event.senderFrame;
    const trusted = isTrustedSender(
      { webContentsId: event.sender.id, frameUrl: frame ? frame.url : null, isMainFrame: frame !== null && frame.parent === null },
      new Set(this.sessions.keys()),
    );
    if (!trusted) {
      return { ok: false, error: { code: 'invalidState', message: 'Refused: the request did not come from a Vivarium window.' } };
    }
    this.onCall?.(name, input);
    return this.sessions.get(event.sender.id)!.dispatch(name, input);
  }
}
