/**
 * An interactive shell on the guest connection: a PTY exec channel running a login shell in
 * /workspace, adapted to the window API's PtyHandle/PtyCallbacks.
 */
import { StringDecoder } from 'node:string_decoder';
import type { PtyCallbacks, PtyHandle } from '../api/window-core.js';
import type { GuestConnection } from '../guest/guest-connection.js';

/** Opens a shell with a terminal of cols × rows; `onExit` fires once (also after `close`). */
export async function openGuestPty(conn: GuestConnection, cols: number, rows: number, cb: PtyCallbacks): Promise<PtyHandle> {
  const ex = await conn.exec('exec /bin/sh -l', { pty: { cols, rows, term: 'xterm-256color' }, env: { TERM: 'xterm-256color' } });
  const decoder = new StringDecoder('utf8');
  let exited = false;
  ex.stdout.on('data', (b: Buffer) => cb.onData(decoder.write(b)));
  ex.stderr.on('data', (b: Buffer) => cb.onData(b.toString('utf8')));
  void ex.exit.then((s) => {
    if (exited) return;
    exited = true;
    cb.onExit(s.exitCode);
  });
  return {
    write: (data) => {
      if (!exited) ex.channel.write(data);
    },
    resize: (c, r) => {
      if (!exited) ex.channel.setWindow(r, c, 0, 0);
    },
    close: () => {
      if (exited) return;
      ex.channel.close();
    },
  };
}
