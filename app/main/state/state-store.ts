/**
 * Loads and saves state.json (DESIGN.md "State on disk"). Saves are atomic (temp file, fsync,
 * rename) and serialized; the previous good file is kept as state.json.bak. A corrupt file
 * never crashes the app: it is set aside as state.json.corrupt-<time>, the last good copy (or
 * an empty state) is used, and `load` returns a message saying so.
 */
import { copyFile, mkdir, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { emptyState, stateFileSchema, type StateFile } from './state-schema.js';
import { writeFileAtomic } from './atomic-file.js';

/** What `load` found. `recoveryMessage` is set when the file was corrupt and the state recovered. */
export interface LoadedState {
  state: StateFile;
  recoveryMessage: string | null;
}

type Parsed = { ok: true; state: StateFile } | { ok: false; reason: string } | { ok: false; missing: true };

async function parseFile(path: string): Promise<Parsed> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, missing: true };
    return { ok: false, reason: `cannot be read (${(e as Error).message})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `is not valid JSON (${(e as Error).message})` };
  }
  const r = stateFileSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first && first.path.length ? first.path.join('.') : 'top level';
    return { ok: false, reason: `does not match the expected shape (${where}: ${first?.message ?? 'invalid'})` };
  }
  return { ok: true, state: r.data };
}

/** The state.json of one data folder. */
export class StateStore {
  private chain: Promise<void> = Promise.resolve();
  private readonly backupFile: string;

  constructor(readonly file: string) {
    this.backupFile = `${file}.bak`;
  }

  /** Reads the state; recovers from a corrupt file (see the module comment). Never throws for bad content. */
  async load(): Promise<LoadedState> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const main = await parseFile(this.file);
    if (main.ok) return { state: main.state, recoveryMessage: null };
    if ('missing' in main) return { state: emptyState(), recoveryMessage: null };

    const aside = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.file, aside).catch(() => undefined);
    const backup = await parseFile(this.backupFile);
    const state = backup.ok ? backup.state : emptyState();
    const from = backup.ok ? `the last good copy (${this.backupFile})` : 'an empty state (no good copy was kept)';
    const recoveryMessage = `Vivarium's state file ${this.file} ${main.reason}; it was moved to ${aside} and ${from} was restored.`;
    await this.save(state);
    return { state, recoveryMessage };
  }

  /** Writes `state` atomically; the file being replaced becomes the last good copy. Calls are serialized. */
  save(state: StateFile): Promise<void> {
    const text = `${JSON.stringify(stateFileSchema.parse(state), null, 2)}\n`;
    const run = async (): Promise<void> => {
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      // The current file was either validated at load or written by us: it is good by construction.
      await copyFile(this.file, this.backupFile).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      await writeFileAtomic(this.file, text, 0o600);
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }
}
