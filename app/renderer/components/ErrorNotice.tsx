/** An error in plain words (the core's message names the cause), with the detail one click away. */
import { useId, useState } from 'react';
import type { VivError } from '../../shared/errors.js';

const CODE_WORDS: Record<string, string> = {
  invalidArgument: 'Not accepted',
  unsupported: 'Not supported here',
  notFound: 'Not found',
  invalidState: 'Not possible right now',
  timeout: 'Timed out',
  hypervisorUnavailable: 'Virtualization unavailable',
  internal: 'Something went wrong',
};

export interface ErrorNoticeProps {
  error: VivError;
  /** What was being done, e.g. "Could not start the VM". */
  title?: string;
  onDismiss?: () => void;
}

/** Shows one error; "Details" reveals the code and the native cause as text. */
export function ErrorNotice({ error, title, onDismiss }: ErrorNoticeProps) {
  const [open, setOpen] = useState(false);
  const detailId = useId();
  const detail = JSON.stringify({ code: error.code, cause: error.cause ?? null }, null, 2);
  return (
    <div className="notice notice-error" role="alert">
      <div className="notice-body">
        <strong className="notice-title">{title ?? CODE_WORDS[error.code] ?? 'Error'}</strong>
        <span className="notice-message">{error.message}</span>
      </div>
      <div className="notice-actions">
        <button type="button" className="link-button" aria-expanded={open} aria-controls={detailId} onClick={() => setOpen(!open)}>
          {open ? 'Hide details' : 'Details'}
        </button>
        {onDismiss && (
          <button type="button" className="icon-button" aria-label="Dismiss error" onClick={onDismiss}>
            ×
          </button>
        )}
      </div>
      {open && (
        <pre id={detailId} className="notice-detail">
          {detail}
        </pre>
      )}
    </div>
  );
}
