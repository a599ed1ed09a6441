/**
 * One change's diff as data for the window and `viv diff`: a unified diff (jsdiff) with line
 * numbers on both sides and word-level highlights inside changed lines; binary and image files
 * are described, not dumped. Both sides are read bounded (MAX_DIFF_BYTES): a larger text file
 * is described as too large rather than holding megabytes of lines in the window.
 */
import { diffWordsWithSpace, structuredPatch } from 'diff';
import type { ContentKind, ReviewChange } from './review-types.js';

/** Largest side diffed as text. */
export const MAX_DIFF_BYTES = 2 * 1024 * 1024;
/** Context lines around each hunk. */
export const DIFF_CONTEXT = 3;

/** A run of text in a line; `highlight` marks the words that changed. */
export interface DiffSegment {
  text: string;
  highlight: boolean;
}

/** One line of a hunk, numbered on the side(s) it exists on. */
export interface DiffLine {
  type: 'context' | 'add' | 'del';
  oldLine?: number;
  newLine?: number;
  segments: DiffSegment[];
  /** Set on the last line of a side that has no newline at the end. */
  noNewlineAtEnd?: boolean;
}

/** A hunk in unified-diff terms. */
export interface DiffHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: DiffLine[];
}

/** What the window shows for one change. */
export interface FileDiff {
  path: string;
  status: ReviewChange['status'];
  kind: ContentKind | 'dir' | 'symlink' | 'special';
  oldSize?: number;
  newSize?: number;
  oldMode?: number;
  newMode?: number;
  oldTarget?: string;
  newTarget?: string;
  /** Text diff hunks (empty when only the mode changed). */
  hunks: DiffHunk[];
  /** Why there is no text diff (binary, image, too large). */
  note?: string;
  /** sha256 of the staged bytes that were diffed: confirming a protected path can pin them. */
  stagedSha256?: string;
}

/** Builds text hunks with line numbers and word highlights from the two sides' text. */
export function textHunks(oldText: string, newText: string, context = DIFF_CONTEXT): DiffHunk[] {
  const patch = structuredPatch('a', 'b', oldText, newText, undefined, undefined, { context, timeout: 5000 });
  if (!patch) return [];
  return patch.hunks.map((h) => {
    const lines: DiffLine[] = [];
    let o = h.oldStart;
    let n = h.newStart;
    let dels: number[] = [];
    let adds: number[] = [];
    // A block of removed lines followed by added lines: pair them up for word highlights.
    const flush = (): void => {
      if (dels.length > 0 && adds.length > 0) highlightWords(lines, dels, adds);
      dels = [];
      adds = [];
    };
    for (const l of h.lines) {
      const text = l.slice(1);
      if (l[0] === '\\') {
        const last = lines.at(-1);
        if (last) last.noNewlineAtEnd = true;
      } else if (l[0] === '-') {
        if (adds.length > 0) flush();
        dels.push(lines.push({ type: 'del', oldLine: o++, segments: [{ text, highlight: true }] }) - 1);
      } else if (l[0] === '+') {
        adds.push(lines.push({ type: 'add', newLine: n++, segments: [{ text, highlight: true }] }) - 1);
      } else {
        flush();
        lines.push({ type: 'context', oldLine: o++, newLine: n++, segments: [{ text, highlight: false }] });
      }
    }
    flush();
    return { oldStart: h.oldStart, oldLines: h.oldLines, newStart: h.newStart, newLines: h.newLines, lines };
  });
}

/** Replaces the whole-line highlights of paired removed/added lines by word-level ones. */
function highlightWords(lines: DiffLine[], dels: readonly number[], adds: readonly number[]): void {
  for (let k = 0; k < Math.min(dels.length, adds.length); k++) {
    const del = lines[dels[k]!]!;
    const add = lines[adds[k]!]!;
    const parts = diffWordsWithSpace(del.segments[0]!.text, add.segments[0]!.text);
    del.segments = merge(parts.filter((p) => !p.added).map((p) => ({ text: p.value, highlight: p.removed })));
    add.segments = merge(parts.filter((p) => !p.removed).map((p) => ({ text: p.value, highlight: p.added })));
  }
}

function merge(segs: DiffSegment[]): DiffSegment[] {
  const out: DiffSegment[] = [];
  for (const s of segs) {
    const last = out.at(-1);
    if (last && last.highlight === s.highlight) last.text += s.text;
    else if (s.text !== '') out.push({ ...s });
  }
  return out.length > 0 ? out : [{ text: '', highlight: false }];
}

/** Plain unified-diff text of a FileDiff (for `viv diff`). */
export function formatUnified(d: FileDiff): string {
  const out: string[] = [];
  const oldName = d.status === 'added' ? '/dev/null' : `a/${d.path}`;
  const newName = d.status === 'deleted' ? '/dev/null' : `b/${d.path}`;
  out.push(`--- ${oldName}`, `+++ ${newName}`);
  if (d.oldMode !== undefined && d.newMode !== undefined && d.oldMode !== d.newMode) out.push(`old mode ${d.oldMode.toString(8)}`, `new mode ${d.newMode.toString(8)}`);
  if (d.oldTarget !== undefined || d.newTarget !== undefined) out.push(`link: ${d.oldTarget ?? '(none)'} -> ${d.newTarget ?? '(none)'}`);
  if (d.note) out.push(`(${d.note})`);
  for (const h of d.hunks) {
    out.push(`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`);
    for (const l of h.lines) {
      out.push(`${l.type === 'add' ? '+' : l.type === 'del' ? '-' : ' '}${l.segments.map((s) => s.text).join('')}`);
      if (l.noNewlineAtEnd) out.push('\\ No newline at end of file');
    }
  }
  return `${out.join('\n')}\n`;
}
