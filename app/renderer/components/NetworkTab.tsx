/**
 * The workspace's network policy: off (the default: the VM has no network at all) or an
 * allowlist of hosts reached through Vivarium's proxy. The core validates every pattern; its
 * error, naming the bad one, is shown beside the list. Applies to a running VM at once.
 */
import { useCallback, useEffect, useState } from 'react';
import type { EgressPolicy, WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { useAction } from '../use-action.js';
import { vivariumApi } from '../vivarium-api.js';

/** The allowlist text (one pattern a line, blank lines and spaces ignored) as a policy. */
export function policyFromText(mode: 'off' | 'allowlist', text: string): EgressPolicy {
  if (mode === 'off') return { mode: 'off' };
  return { mode: 'allowlist', hosts: text.split('\n').map((l) => l.trim()).filter((l) => l !== '') };
}

export function NetworkTab({ workspace: ws }: { workspace: WorkspaceSnapshot }) {
  const stored = ws.egress;
  const [mode, setMode] = useState<'off' | 'allowlist'>(stored.mode);
  const [text, setText] = useState(stored.mode === 'allowlist' ? stored.hosts.join('\n') : '');
  const [saved, setSaved] = useState(false);
  const [dirty, setDirty] = useState(false);
  const storedText = stored.mode === 'allowlist' ? stored.hosts.join('\n') : '';
  // "Allow always" in a prompt grows the stored list: show it unless the user is editing.
  useEffect(() => {
    if (dirty) return;
    setMode(stored.mode);
    setText(storedText);
  }, [stored.mode, storedText, dirty]);
  const save = useAction(useCallback(async (policy: EgressPolicy) => {
    const snap = await vivariumApi().workspace.setEgress({ workspaceId: ws.id, policy });
    if (snap.egress.mode === 'allowlist') setText(snap.egress.hosts.join('\n'));
    setDirty(false);
    setSaved(true);
  }, [ws.id]));
  const next = policyFromText(mode, text);
  const changed = JSON.stringify(next) !== JSON.stringify(stored);
  const emptyList = next.mode === 'allowlist' && next.hosts.length === 0;
  return (
    <form
      className="settings network"
      aria-labelledby="network-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (changed) void save.run(next);
      }}
    >
      <div>
        <h2 id="network-title" className="section-title">Network</h2>
        <p className="hint section-hint">
          The VM has no network interface. Allowed hosts are reached through Vivarium's proxy, which logs every request with
          its task; a task that asks for any other host makes Vivarium ask you. Agents reach their APIs (Anthropic, OpenAI)
          through a separate gateway with your key from Settings; those calls need no entry here and show in each task's
          Network view.
        </p>
      </div>
      <fieldset className="mode-choice">
        <legend className="visually-hidden">Network access</legend>
        <label className={`choice ${mode === 'off' ? 'choice-selected' : ''}`}>
          <input type="radio" name="egress-mode" value="off" checked={mode === 'off'} onChange={() => { setMode('off'); setDirty(true); setSaved(false); }} />
          <span><strong>Off</strong><br /><span className="hint">Every request is refused and logged.</span></span>
        </label>
        <label className={`choice ${mode === 'allowlist' ? 'choice-selected' : ''}`}>
          <input type="radio" name="egress-mode" value="allowlist" checked={mode === 'allowlist'} onChange={() => { setMode('allowlist'); setDirty(true); setSaved(false); }} />
          <span><strong>Allow listed hosts</strong><br /><span className="hint">Through the proxy; others need your answer.</span></span>
        </label>
      </fieldset>
      {mode === 'allowlist' && (
        <div className="network-hosts">
          <label htmlFor="egress-hosts">Allowed hosts, one per line</label>
          <textarea
            id="egress-hosts"
            className="input network-textarea"
            rows={6}
            spellCheck={false}
            value={text}
            placeholder={'api.example.com\n*.example.org\n127.0.0.1:8080'}
            aria-describedby="egress-hosts-hint"
            aria-invalid={save.error !== null}
            aria-errormessage={save.error ? 'egress-hosts-error' : undefined}
            onChange={(e) => { setText(e.target.value); setDirty(true); setSaved(false); save.clearError(); }}
          />
          <span id="egress-hosts-hint" className="hint">
            A name (api.example.com), a wildcard for its subdomains (*.example.org), optional :port. Without a port: 443 for
            HTTPS, 80 for HTTP. Addresses on your computer or network need their exact host:port.
          </span>
          {save.error && (
            <p id="egress-hosts-error" className="field-error" role="alert">{save.error.message}</p>
          )}
          {emptyList && <p className="hint">An empty list allows nothing; every request will ask you.</p>}
        </div>
      )}
      {mode === 'off' && save.error && <p className="field-error" role="alert">{save.error.message}</p>}
      <div className="settings-actions">
        <button type="submit" className="button button-primary" disabled={!changed || save.busy}>
          Save
        </button>
        <span className="hint" aria-live="polite">{saved && !changed ? 'Saved. Applies at once, also to a running VM.' : ''}</span>
      </div>
    </form>
  );
}
