/**
 * What granting a folder means, from the core's inspection: the canonical path, what the VM
 * will and will not see, how much is in it, and the core's warnings. Pure: no API calls.
 */
import type { ConsentInspection, ShareMode } from '../../shared/contract-schemas.js';
import { formatBytes, formatCount } from '../format.js';

export interface ConsentDetailsProps {
  inspection: ConsentInspection;
  mode: ShareMode;
  onModeChange: (mode: ShareMode) => void;
  confirmed: boolean;
  onConfirmedChange: (confirmed: boolean) => void;
}

export function ConsentDetails({ inspection: ins, mode, onModeChange, confirmed, onConfirmedChange }: ConsentDetailsProps) {
  const size = `${formatCount(ins.fileCount, 'file', 'files')}, ${formatBytes(ins.totalBytes)}${ins.countIncomplete ? ' or more' : ''}`;
  return (
    <div className="consent">
      <dl className="facts">
        <dt>Will share</dt>
        <dd>
          <code className="path" data-testid="canonical-path">{ins.canonicalPath}</code>
          {ins.canonicalPath !== ins.requestedPath && <div className="hint">You chose {ins.requestedPath}; it resolves to this folder.</div>}
        </dd>
        <dt>Contents</dt>
        <dd data-testid="folder-size">{size}</dd>
      </dl>

      {ins.refusal !== null ? (
        <div className="notice notice-error" role="alert">
          <div className="notice-body">
            <strong className="notice-title">This folder cannot be shared</strong>
            <span className="notice-message">{ins.refusal}</span>
          </div>
        </div>
      ) : (
        <>
          <fieldset className="mode-choice">
            <legend>Access</legend>
            <label className={`choice${mode === 'ro' ? ' choice-selected' : ''}`}>
              <input type="radio" name="mode" value="ro" checked={mode === 'ro'} onChange={() => onModeChange('ro')} />
              <span>
                <strong>Read-only</strong>
                <span className="hint">Tasks can read the files but cannot change, add or delete any.</span>
              </span>
            </label>
            <label className={`choice${mode === 'rw' ? ' choice-selected' : ''}`}>
              <input type="radio" name="mode" value="rw" checked={mode === 'rw'} onChange={() => onModeChange('rw')} />
              <span>
                <strong>Read and write</strong>
                <span className="hint">Tasks can change, add and delete files in this folder.</span>
              </span>
            </label>
          </fieldset>

          <div className="sees">
            <div>
              <h3>The VM will see</h3>
              <ul>
                <li>This folder and everything in it, as <code>/workspace</code></li>
                <li>{mode === 'ro' ? 'Read-only: writes fail' : 'With permission to change it'}</li>
              </ul>
            </div>
            <div>
              <h3>The VM will not see</h3>
              <ul>
                <li>Any other file or folder on this computer</li>
                <li>Your network, unless you allow hosts later</li>
                <li>Your keys and passwords outside this folder</li>
              </ul>
            </div>
          </div>

          {ins.warnings.length > 0 && (
            <div className="notice notice-warning" role="group" aria-label="Warnings">
              <div className="notice-body">
                <strong className="notice-title">Think twice before sharing this folder</strong>
                <ul className="warning-list">
                  {ins.warnings.map((w, i) => (
                    <li key={i}>
                      {w.message}
                      {w.paths.length > 0 && (
                        <span className="warning-paths">
                          {' '}
                          ({w.paths.slice(0, 6).join(', ')}
                          {w.paths.length > 6 ? `, and ${w.paths.length - 6} more` : ''})
                        </span>
                      )}
                    </li>
                  ))}
                </ul>
                {ins.needsConfirmation && (
                  <label className="confirm-check">
                    <input type="checkbox" checked={confirmed} onChange={(e) => onConfirmedChange(e.target.checked)} />
                    I understand the risk and want to share this folder anyway
                  </label>
                )}
              </div>
            </div>
          )}
        </>
      )}
    </div>
  );
}
