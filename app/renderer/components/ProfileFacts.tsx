/** What the new-task form says about an agent profile: its image, its APIs and their keys, a missing key. */
import type { AgentProfile } from '../../shared/contract-schemas.js';
import { IMAGE_WORDS, joinNames, keySourceWords, type ApiNeed } from '../agent-words.js';

/** What the form says about a profile's image and APIs; pure, for rendering tests. */
export function ProfileFacts({ profile, needs, onAddKey }: { profile: AgentProfile; needs: ApiNeed[]; onAddKey: (need: ApiNeed) => void }) {
  const missing = needs.filter((n) => n.missing);
  return (
    <div className="profile-facts" data-testid="profile-facts">
      <p className="hint">{profile.description}</p>
      <dl className="facts facts-compact">
        <dt>Image</dt>
        <dd>{IMAGE_WORDS[profile.image]}</dd>
        {needs.length > 0 && (
          <>
            <dt>{needs.length === 1 ? 'API' : 'APIs'}</dt>
            <dd>
              {needs.map((n, i) => (
                <span key={n.api}>
                  {i > 0 ? '; ' : ''}
                  {n.name} through the host gateway (key {n.status ? keySourceWords(n.status, true) : 'status unknown'})
                </span>
              ))}
            </dd>
          </>
        )}
        {profile.hosts.length > 0 && (
          <>
            <dt>Network</dt>
            <dd>Needs access to {profile.hosts.join(', ')} (allow it under Network)</dd>
          </>
        )}
      </dl>
      {missing.length > 0 && (
        <p className="missing-key" data-testid="missing-key">
          {profile.name} needs your {joinNames(missing.map((n) => n.name))} API key, and none is set.{' '}
          <button type="button" className="link-button" onClick={() => onAddKey(missing[0]!)}>
            Add it in Settings
          </button>
        </p>
      )}
    </div>
  );
}
