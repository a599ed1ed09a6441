/**
 * An interactive shell in the workspace's VM (a PTY over the VM's SSH connection). Opens when
 * the tab shows and the VM runs; closes when the tab goes away. Keystrokes go to the PTY,
 * the terminal's size follows the view; output reaches the terminal through an XtermFeed.
 */
import { useCallback, useState } from 'react';
import type { Terminal } from '@xterm/xterm';
import type { WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { toVivError, type VivError } from '../../shared/errors.js';
import { vivariumApi } from '../vivarium-api.js';
import { ErrorNotice } from './ErrorNotice.js';
import { XtermView } from './XtermView.js';
import { PTY_FEED, XtermFeed } from './xterm-feed.js';

export function TerminalTab({ workspace: ws }: { workspace: WorkspaceSnapshot }) {
  const [error, setError] = useState<VivError | null>(null);
  const [ended, setEnded] = useState<number | null | undefined>(undefined);
  const [generation, setGeneration] = useState(0);
  const running = ws.vm.state === 'running';

  const onReady = useCallback(
    (term: Terminal) => {
      const api = vivariumApi();
      let ptyId: string | null = null;
      let closed = false;
      const offs: (() => void)[] = [];
      // Coalesced per frame and paced in floods (`cat` of a big file); nothing is dropped.
      const feed = new XtermFeed(term, PTY_FEED);
      offs.push(() => feed.dispose());
      offs.push(api.on('pty:data', (p) => p.ptyId === ptyId && feed.push(p.data)));
      offs.push(api.on('pty:exit', (p) => {
        if (p.ptyId !== ptyId) return;
        ptyId = null;
        setEnded(p.exitCode);
      }));
      const input = term.onData((data) => {
        if (ptyId) api.pty.write({ ptyId, data }).catch((e: unknown) => setError(toVivError(e)));
      });
      const resize = term.onResize(({ cols, rows }) => {
        if (ptyId) api.pty.resize({ ptyId, cols, rows }).catch(() => {});
      });
      api.pty
        .open({ workspaceId: ws.id, cols: Math.max(2, term.cols), rows: Math.max(1, term.rows) })
        .then((r) => {
          if (closed) {
            void api.pty.close({ ptyId: r.ptyId });
            return;
          }
          ptyId = r.ptyId;
          term.focus();
        })
        .catch((e: unknown) => setError(toVivError(e)));
      return () => {
        closed = true;
        offs.forEach((f) => f());
        input.dispose();
        resize.dispose();
        if (ptyId) void api.pty.close({ ptyId });
      };
    },
    [ws.id],
  );

  if (!running) {
    return <p className="empty">The terminal opens a shell in the VM. Start the VM to use it.</p>;
  }
  return (
    <div className="terminal-tab">
      {error && <ErrorNotice error={error} title="The terminal is not available" onDismiss={() => setError(null)} />}
      {ended !== undefined && (
        <div className="terminal-ended">
          <span>The shell ended{ended !== null ? ` (exit code ${ended})` : ''}.</span>
          <button
            type="button"
            className="button button-secondary"
            onClick={() => {
              setEnded(undefined);
              setError(null);
              setGeneration(generation + 1);
            }}
          >
            New shell
          </button>
        </div>
      )}
      <XtermView key={generation} label="Terminal" interactive onReady={onReady} testId="terminal" />
    </div>
  );
}
