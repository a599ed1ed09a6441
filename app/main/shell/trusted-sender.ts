/**
 * The check every IPC handler runs first: the message must come from the top frame of one of
 * our own windows, showing our own origin. A foreign frame (an iframe, a navigated-away page,
 * a window we did not create) is refused before its input is even parsed.
 */

/** What the check needs to know about an IPC event's sender (a subset of Electron's types). */
export interface SenderInfo {
  /** `event.sender.id`: the WebContents id. */
  webContentsId: number;
  /** `event.senderFrame?.url`, or null when the frame is gone. */
  frameUrl: string | null;
  /** True when `event.senderFrame` is the top frame of its WebContents. */
  isMainFrame: boolean;
}

/** True when the sender is the main frame of one of `ourWebContentsIds`, on app://vivarium. */
export function isTrustedSender(sender: SenderInfo, ourWebContentsIds: ReadonlySet<number>): boolean {
  if (!ourWebContentsIds.has(sender.webContentsId)) return false;
  if (!sender.isMainFrame || sender.frameUrl === null) return false;
  try {
    const u = new URL(sender.frameUrl);
    return u.protocol === 'app:' && u.host === 'vivarium';
  } catch {
    return false;
  }
}
