/**
 * The new-task form: a shell command, or an agent profile with its prompt. For an agent it says
 * which image the task runs in and which API it reaches through the host gateway, and when the
 * user's key for that API is missing it says so, links to the settings, and does not start.
 */
import { useCallback, useEffect, useId, useState, type KeyboardEvent } from 'react';
import type { WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { apiNeeds } from '../agent-words.js';
import { useAction } from '../use-action.js';
import { vivariumApi } from '../vivarium-api.js';
import { apiKeyStore, profileStore, taskStore, useApiKeys, useProfiles, viewStore } from '../stores/app-stores.js';
import { ErrorNotice } from './ErrorNotice.js';
import { ProfileFacts } from './ProfileFacts.js';

export function NewTaskForm({ workspace: ws }: { workspace: WorkspaceSnapshot }) {
  const profiles = useProfiles((s) => s.profiles);
  const profilesError = useProfiles((s) => s.loadError);
  const statuses = useApiKeys((s) => s.statuses);
  const [profileId, setProfileId] = useState<string | null>(null);
  const [text, setText] = useState('');
  const hintId = useId();
  useEffect(() => {
    void profileStore.getState().load();
    void apiKeyStore.getState().load();
  }, []);
  // Start on a plain-command profile when the core offers one; else the text is a command.
  const current = profileId ?? profiles.find((p) => !p.takesPrompt)?.id ?? null;
  const profile = profiles.find((p) => p.id === current) ?? null;
  const needs = profile ? apiNeeds(profile, statuses) : [];
  const keyMissing = needs.some((n) => n.missing);
  const start = useAction(useCallback(async (command: string, pid: string | null) => {
    const t = await vivariumApi().task.start({ workspaceId: ws.id, command, profileId: pid });
    taskStore.getState().applyReply(t);
    taskStore.getState().select(ws.id, t.id);
    setText('');
  }, [ws.id]));
  const disabled = ws.grant === null;
  const canRun = !disabled && text.trim() !== '' && !start.busy && !keyMissing;
  const submit = (): void => {
    if (canRun) void start.run(text, profile?.id ?? null);
  };
  const onPromptKey = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      submit();
    }
  };
  const takesPrompt = profile?.takesPrompt === true;
  return (
    <form
      className="new-task"
      aria-label="New task"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <div className="input-row">
        {profiles.length > 1 && (
          <select className="input select" aria-label="Run as" value={current ?? ''} onChange={(e) => setProfileId(e.target.value)} disabled={disabled}>
            {profiles.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        )}
        {!takesPrompt && (
          <input
            className="input input-mono"
            aria-label="Command to run in /workspace"
            placeholder="Command to run"
            value={text}
            onChange={(e) => setText(e.target.value)}
            disabled={disabled}
            spellCheck={false}
            autoComplete="off"
          />
        )}
        {!takesPrompt && (
          <button type="submit" className="button button-primary" disabled={!canRun}>
            Run
          </button>
        )}
      </div>
      {takesPrompt && profile && (
        <>
          <textarea
            className="input prompt-textarea"
            aria-label={`Prompt for ${profile.name}`}
            aria-describedby={hintId}
            placeholder="What should the agent do in /workspace?"
            value={text}
            rows={4}
            maxLength={100_000}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={onPromptKey}
            disabled={disabled}
          />
          <div className="prompt-actions">
            <span id={hintId} className="hint">Ctrl+Enter runs it.</span>
            <button type="submit" className="button button-primary" disabled={!canRun}>
              Run {profile.name}
            </button>
          </div>
          <ProfileFacts profile={profile} needs={needs} onAddKey={(n) => viewStore.getState().openSettings(n.api)} />
        </>
      )}
      {profilesError && <ErrorNotice error={profilesError} title="Could not load the agent profiles; plain commands still run" />}
      {start.error && <ErrorNotice error={start.error} title="Could not start the task" onDismiss={start.clearError} />}
    </form>
  );
}
