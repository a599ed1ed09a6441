/**
 * The data review mode hands to the window and `viv` (issue 15): one ReviewChange per path
 * whose host copy would change, with why it may not be applied silently, and the results of
 * apply, discard and undo. Plain data (JSON-safe), so the later contract can carry it as is.
 */

/** What happens to the host path when the change is applied. */
export type ChangeStatus = 'added' | 'modified' | 'deleted';

/** What a path is: on the host before, or in the guest after. `special` = FIFO, socket or device. */
export type PathType = 'file' | 'dir' | 'symlink' | 'special';

/** How a file's content is shown: text gets a diff, binary and image files are described. */
export type ContentKind = 'text' | 'binary' | 'image';

/** Why a change is never applied, whatever the user clicks. */
export type RefusalCode =
  | 'invalidName' // empty, '.', '..', NUL, absolute, too long, control characters
  | 'notUtf8' // the guest's name is not valid UTF-8
  | 'invalidEntry' // a value out of range (mode, size, link count...)
  | 'specialFile' // device node, FIFO, socket
  | 'setuid' // the only change is a setuid/setgid/sticky bit
  | 'hardLinkOutside' // shares its inode with a file outside the staged changes
  | 'symlinkEscapes' // a link whose target leaves the folder
  | 'insideSymlink' // a path below something that is (or becomes) a symbolic link
  | 'parentMissing' // its folder is neither staged nor on the host
  | 'duplicate' // listed twice, or folds onto another staged name on this host
  | 'hostSpecial' // deleting a host FIFO/socket/device, which undo could not restore
  | 'dependency'; // needs another change that is refused

/** Why a change needs its own confirmation ("runs code on your computer"). */
export type ProtectionCode = 'protectedPath' | 'executable';

/** One path whose host copy would change. */
export interface ReviewChange {
  /** Relative, '/'-separated path in the folder. */
  path: string;
  status: ChangeStatus;
  /** The type after the change (added/modified) or before it (deleted). */
  type: PathType;
  /** The host's type before, when it differs (a file replaced by a folder and the reverse). */
  previousType?: PathType;
  /** For files: how the content is shown. */
  contentKind?: ContentKind;
  /** Staged size (files), host size before (previousSize). */
  size?: number;
  previousSize?: number;
  /** Permission bits applied (never setuid/setgid/sticky) and the host's before. */
  mode?: number;
  previousMode?: number;
  /** True when bytes or link target change; false for a mode-only change. */
  contentChanged: boolean;
  modeChanged: boolean;
  linkTarget?: string;
  previousLinkTarget?: string;
  /** The staged entry that produces this change (a whiteout or opaque folder for the paths below it). */
  stagedPath: string;
  /** Identifies the staged version shown; apply refuses a path whose version changed since. */
  version: string;
  /** Set when the change is never applied. */
  refused?: { code: RefusalCode; reason: string };
  /** Set when the change runs code on the host: never applied by "apply all", needs its own confirmation. */
  protected?: { code: ProtectionCode; reason: string };
  /** Set when the host copy changed since the task started: needs its own confirmation. */
  conflict?: { reason: string };
  /** Things the user should know that do not stop the change (e.g. "applied without its setuid bit"). */
  notices: string[];
}

/** Counts for `viv` and the task detail. */
export interface ChangeSummary {
  total: number;
  added: number;
  modified: number;
  deleted: number;
  protected: number;
  conflicts: number;
  refused: number;
}

/** A staged entry that could not even be named (e.g. its path is not a string). */
export interface InvalidEntry {
  index: number;
  reason: string;
}

/** The workspace's staged changes as classified now. */
export interface ChangeList {
  changes: ReviewChange[];
  invalid: InvalidEntry[];
  summary: ChangeSummary;
}

/** A path left out of an apply, discard or undo, and why. */
export interface SkippedPath {
  path: string;
  reason: string;
}

/** What an apply did. */
export interface ApplyResult {
  /** The history entry that undoes it, or null when nothing was applied. */
  applyId: string | null;
  applied: string[];
  skipped: SkippedPath[];
}

/** What an undo did. */
export interface UndoResult {
  applyId: string;
  restored: string[];
  /** Paths changed on the host since the apply: left as they are. */
  conflicts: SkippedPath[];
}

/** One entry of the workspace's apply history. */
export interface HistorySummary {
  applyId: string;
  at: number;
  paths: number;
  bytes: number;
  undone: boolean;
}

/** Tallies a change list. */
export function summarize(changes: readonly ReviewChange[], invalid: readonly InvalidEntry[] = []): ChangeSummary {
  const s: ChangeSummary = { total: changes.length, added: 0, modified: 0, deleted: 0, protected: 0, conflicts: 0, refused: invalid.length };
  for (const c of changes) {
    s[c.status]++;
    if (c.refused) s.refused++;
    else if (c.protected) s.protected++;
    if (!c.refused && c.conflict) s.conflicts++;
  }
  return s;
}
