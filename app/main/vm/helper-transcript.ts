/**
 * The golden-transcript format of native/protocol/PROTOCOL.md §7: parsing, the matching rules
 * and placeholder substitution. Pure; shared by the helper-client unit tests and the replayer
 * CLI (test/support/transcript.ts) that drives real helpers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the golden transcripts live ($VIVARIUM_REPO/native/protocol/fixtures when set, as scripts/test.sh does). */
export const FIXTURES_DIR = process.env.VIVARIUM_REPO
  ? join(process.env.VIVARIUM_REPO, 'native/protocol/fixtures')
  : resolve(dirname(fileURLToPath(import.meta.url)), '../../../native/protocol/fixtures');

/** One line of a transcript. */
export type TranscriptStep =
  | { kind: 'send'; line: number; payload: unknown; repeat: number }
  | { kind: 'sendOversized'; line: number; bytes: number; id: number }
  | { kind: 'expect'; line: number; pattern: unknown; repeat: number }
  | { kind: 'closeStdin'; line: number }
  | { kind: 'expectExit'; line: number; code: number };

/** A parsed transcript file. */
export interface Transcript {
  name: string;
  requires: string[];
  steps: TranscriptStep[];
}

/** Parses one .jsonl transcript; throws naming the file and line on a malformed fixture. */
export function parseTranscript(name: string, text: string): Transcript {
  const t: Transcript = { name, requires: [], steps: [] };
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(raw) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${name}:${line}: not JSON (${(e as Error).message})`);
    }
    const repeat = typeof o.repeat === 'number' ? o.repeat : 1;
    if (Array.isArray(o.requires) && line === 1) t.requires = o.requires.map(String);
    else if ('send' in o) t.steps.push({ kind: 'send', line, payload: o.send, repeat });
    else if ('expect' in o) t.steps.push({ kind: 'expect', line, pattern: o.expect, repeat });
    else if (typeof o.sendOversized === 'number')
      t.steps.push({ kind: 'sendOversized', line, bytes: o.sendOversized, id: typeof o.id === 'number' ? o.id : 0 });
    else if (o.closeStdin === true) t.steps.push({ kind: 'closeStdin', line });
    else if (typeof o.expectExit === 'number') t.steps.push({ kind: 'expectExit', line, code: o.expectExit });
    else throw new Error(`${name}:${line}: unknown transcript step ${raw.slice(0, 80)}`);
  });
  return t;
}

/** Every transcript in `dir`, sorted by name. */
export function loadTranscripts(dir = FIXTURES_DIR): Transcript[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => parseTranscript(basename(f, '.jsonl'), readFileSync(join(dir, f), 'utf8')));
}

/**
 * Matches `actual` against an expected pattern: objects match when every listed member matches
 * (extra members allowed, recursively), arrays element by element with equal length, and the
 * strings "*", "<abs-path>" and "<any-of:a|b>" are wildcards. Returns null or what differs.
 */
export function matchPattern(expected: unknown, actual: unknown, at = '$'): string | null {
  if (typeof expected === 'string') {
    if (expected === '*') return actual === undefined ? `${at} is missing` : null;
    if (expected === '<abs-path>')
      return typeof actual === 'string' && (actual.startsWith('/') || /^[A-Za-z]:\\|^\\\\/.test(actual))
        ? null
        : `${at}: expected an absolute path, got ${JSON.stringify(actual)}`;
    const anyOf = /^<any-of:(.*)>$/.exec(expected);
    if (anyOf?.[1] !== undefined)
      return typeof actual === 'string' && anyOf[1].split('|').includes(actual)
        ? null
        : `${at}: expected one of ${anyOf[1]}, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return `${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const m = matchPattern(expected[i], actual[i], `${at}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return `${at}: expected an object, got ${JSON.stringify(actual)}`;
    for (const [k, v] of Object.entries(expected)) {
      const m = matchPattern(v, (actual as Record<string, unknown>)[k], `${at}.${k}`);
      if (m) return m;
    }
    return null;
  }
  return Object.is(expected, actual) ? null : `${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

/** Replaces ${NAME} placeholders in every string of a value. */
export function substitute(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string')
    return value.replace(/\$\{([A-Z_]+)\}/g, (m, k: string) => {
      const v = vars[k];
      if (v === undefined) throw new Error(`transcript placeholder ${m} has no value`);
      return v;
    });
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)]));
  return value;
}

/** A status request padded to exactly `bytes` bytes (the §7 `sendOversized` step). */
export function oversizedLine(bytes: number, id: number): string {
  const head = `{"id":${id},"method":"status","params":{"pad":"`;
  const tail = '"}}';
  const pad = bytes - head.length - tail.length;
  if (pad < 0) throw new Error(`sendOversized ${bytes} is too small`);
  return head + 'a'.repeat(pad) + tail;
}
