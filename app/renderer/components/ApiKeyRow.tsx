/**
 * One API's key in the settings: where it comes from ("stored in the app", "from $ENV", not
 * set), a field to store or replace it, and Clear for a stored one. A key is never shown back:
 * the field empties once the core has stored it, and the status words never include it.
 */
import { useEffect, useRef, useState } from 'react';
import type { ApiKeyStatus } from '../../shared/contract-schemas.js';
import { keyProblem, keySourceWords } from '../agent-words.js';
import { useAction } from '../use-action.js';
import { ErrorNotice } from './ErrorNotice.js';

export interface ApiKeyRowProps {
  status: ApiKeyStatus;
  /** Puts the caret in the key field (the new-task form's "add it in Settings" link). */
  autoFocus: boolean;
  /** Sends the key to the core; rejects with the core's VivError. */
  onStore: (key: string) => Promise<void>;
  /** Forgets the key stored in the app; rejects with the core's VivError. */
  onClear: () => Promise<void>;
}

/** One API's key row. `autoFocus` puts the caret in its field (the "add the key" link). */
export function ApiKeyRow({ status, autoFocus, onStore, onClear }: ApiKeyRowProps) {
  const [key, setKey] = useState('');
  const [touched, setTouched] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const field = useRef<HTMLInputElement>(null);
  const store = useAction(async (k: string) => {
    await onStore(k);
    setKey('');
    setTouched(false);
    setDone('Stored in the app. The key is not shown again.');
  });
  const clear = useAction(async () => {
    await onClear();
    setDone('The key stored in the app was removed.');
  });
  useEffect(() => {
    if (autoFocus) field.current?.focus();
  }, [autoFocus]);
  const problem = key === '' ? null : keyProblem(key);
  const id = `key-${status.api}`;
  return (
    <form
      className="key-row"
      aria-labelledby={`${id}-title`}
      data-testid={id}
      onSubmit={(e) => {
        e.preventDefault();
        setTouched(true);
        if (key !== '' && problem === null && !store.busy) void store.run(key);
      }}
    >
      <div className="key-row-head">
        <h3 id={`${id}-title`} className="section-title">{status.name}</h3>
        <span className={`badge key-source key-source-${status.source ?? 'none'}`} data-testid={`${id}-status`}>{keySourceWords(status)}</span>
      </div>
      <div className="input-row">
        <label className="visually-hidden" htmlFor={`${id}-input`}>{status.name} API key</label>
        <input
          id={`${id}-input`}
          ref={field}
          className="input input-mono key-input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder={status.source === null ? 'Paste your key' : 'Paste a new key to replace it'}
          value={key}
          aria-invalid={touched && problem !== null}
          aria-describedby={`${id}-hint`}
          onChange={(e) => { setKey(e.target.value); setDone(null); }}
          onBlur={() => setTouched(key !== '')}
        />
        <button type="submit" className="button button-primary" disabled={key === '' || store.busy}>
          {status.stored ? 'Replace key' : 'Store key'}
        </button>
        {status.stored && (
          <button type="button" className="button button-secondary" disabled={clear.busy} onClick={() => { setDone(null); void clear.run(); }}>
            Clear
          </button>
        )}
      </div>
      <p id={`${id}-hint`} className="hint">
        {status.source === 'env' && !status.stored
          ? `Vivarium uses $${status.envVar} from its environment now. A key stored here is kept encrypted on this computer.`
          : `Kept encrypted on this computer. Without one here, Vivarium uses $${status.envVar} if it is set.`}
      </p>
      {touched && problem && <p className="field-error" role="alert">{problem}</p>}
      <p className="hint" aria-live="polite">{done}</p>
      {store.error && <ErrorNotice error={store.error} title={`Could not store the ${status.name} key`} onDismiss={store.clearError} />}
      {clear.error && <ErrorNotice error={clear.error} title={`Could not clear the ${status.name} key`} onDismiss={clear.clearError} />}
    </form>
  );
}
