/** The new-task form: a shell command, or an agent profile with its prompt. */
import { useCallback, useEffect, useState } from 'react';
import type { AgentProfile, WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { useAction } from '../use-action.js';
import { vivariumApi } from '../vivarium-api.js';
import { taskStore } from '../stores/app-stores.js';
import { ErrorNotice } from './ErrorNotice.js';

export function NewTaskForm({ workspace: ws }: { workspace: WorkspaceSnapshot }) {
  const [profiles, setProfiles] = useState<AgentProfile[]>([]);
  const [profileId, setProfileId] = useState<string | null>(null);
  const [text, setText] = useState('');
  useEffect(() => {
    vivariumApi().profile.list().then(
      (list) => {
        setProfiles(list);
        // Start on a plain-command profile when the core offers one; else the text is a command.
        setProfileId((cur) => cur ?? list.find((p) => !p.takesPrompt)?.id ?? null);
      },
      () => setProfiles([]),
    );
  }, []);
  const profile = profiles.find((p) => p.id === profileId) ?? null;
  const start = useAction(useCallback(async (command: string, pid: string | null) => {
    const t = await vivariumApi().task.start({ workspaceId: ws.id, command, profileId: pid });
    taskStore.getState().applyReply(t);
    taskStore.getState().select(ws.id, t.id);
    setText('');
  }, [ws.id]));
  const disabled = ws.grant === null;
  return (
    <form
      className="new-task"
      aria-label="New task"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim() && !start.busy) void start.run(text, profile?.id ?? null);
      }}
    >
      <div className="input-row">
        {profiles.length > 1 && (
          <select className="input select" aria-label="Run as" value={profileId ?? ''} onChange={(e) => setProfileId(e.target.value)} disabled={disabled}>
            {profiles.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        )}
        <input
          className="input input-mono"
          aria-label={profile?.takesPrompt ? `Prompt for ${profile.name}` : 'Command to run in /workspace'}
          placeholder={profile?.takesPrompt ? 'What should the agent do?' : 'Command to run'}
          value={text}
          onChange={(e) => setText(e.target.value)}
          disabled={disabled}
          spellCheck={false}
          autoComplete="off"
        />
        <button type="submit" className="button button-primary" disabled={disabled || !text.trim() || start.busy}>
          Run
        </button>
      </div>
      {profile?.takesPrompt && (
        <p className="hint">
          {profile.description}
          {profile.hosts.length > 0 ? ` Needs network access to ${profile.hosts.join(', ')}.` : ''}
        </p>
      )}
      {start.error && <ErrorNotice error={start.error} title="Could not start the task" onDismiss={start.clearError} />}
    </form>
  );
}
