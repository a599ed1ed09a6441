/**
 * The question asked when a task reaches a blocked host: allow once (exactly this request),
 * allow always for this workspace (host:port joins its allowlist), or deny. A modal, so focus
 * is trapped and Escape denies. Shows the oldest waiting prompt; others follow in turn.
 */
import { useCallback, useEffect, useRef } from 'react';
import type { EgressAnswer, EgressPromptInfo, WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { useAction, useNow } from '../use-action.js';
import { vivariumApi } from '../vivarium-api.js';
import { ErrorNotice } from './ErrorNotice.js';
import { Modal } from './Modal.js';

/** The host:port as a user reads it (IPv6 literals bracketed). */
export function hostPort(p: { host: string; port: number }): string {
  return `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
}

export function EgressPromptDialog({ prompt: p, workspace, waiting, onAnswered }: {
  prompt: EgressPromptInfo;
  workspace: WorkspaceSnapshot | undefined;
  /** How many prompts wait in all (this one included). */
  waiting: number;
  /** Called once the core took the answer (or the prompt had already gone). */
  onAnswered: (promptId: string) => void;
}) {
  const answer = useAction(useCallback(async (a: EgressAnswer) => {
    await vivariumApi().egress.answer({ workspaceId: p.workspaceId, promptId: p.id, answer: a });
    onAnswered(p.id);
  }, [p.workspaceId, p.id, onAnswered]));
  const now = useNow(1000, true);
  const onceButton = useRef<HTMLButtonElement>(null);
  // After the Modal's showModal (child effects run first), which focuses the first button.
  useEffect(() => onceButton.current?.focus(), []);
  const secondsLeft = Math.max(0, Math.round((p.expiresAt - now) / 1000));
  const what = p.method ? `${p.method} http://${hostPort(p)}` : `a secure connection (CONNECT) to ${hostPort(p)}`;
  return (
    <Modal title={`Allow network access to ${hostPort(p)}?`} onClose={() => void answer.run('deny')} className="egress-prompt">
      <div className="egress-prompt-body" data-testid="egress-prompt">
        <p>
          {p.taskId ? 'A task' : 'A program'} in <strong>{workspace?.name ?? 'a workspace'}</strong> asks for {what}.
        </p>
        <p className="muted">{p.reason}.</p>
        {p.blockedAs === 'blocked-private-address' && (
          <p className="egress-warning">This name leads to an address on your computer or local network. Allow it only if you expect that.</p>
        )}
        <p className="hint" aria-live="off">
          The request waits {secondsLeft} s for your answer, then is refused.{waiting > 1 ? ` ${waiting - 1} more waiting.` : ''}
        </p>
      </div>
      {answer.error && <ErrorNotice error={answer.error} title="Could not send the answer" onDismiss={answer.clearError} />}
      <div className="modal-actions">
        <button type="button" className="button button-secondary" disabled={answer.busy} onClick={() => void answer.run('deny')}>
          Deny
        </button>
        <button type="button" className="button button-secondary" disabled={answer.busy} onClick={() => void answer.run('always')}>
          Allow always for this workspace
        </button>
        <button type="button" className="button button-primary" disabled={answer.busy} onClick={() => void answer.run('once')} ref={onceButton}>
          Allow once
        </button>
      </div>
    </Modal>
  );
}
