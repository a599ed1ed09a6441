/**
 * ChangeSources for tests and benchmarks of the apply engine (the real one reads the VM's
 * overlay upper layer over SSH): a scripted list of entries with their bytes, and a local
 * folder laid out like an upper layer, with whiteouts and opaque folders given as lists
 * (making overlay's 0/0 character devices needs root). Not used by the app itself.
 */
import { constants as C } from 'node:fs';
import { chmod, cp, lstat, mkdir, open, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ChangeSource, StagedEntry } from './change-source.js';

/** Removes `paths` and everything below them from a path-keyed collection. */
function under(path: string, drop: readonly string[]): boolean {
  return drop.some((d) => path === d || path.startsWith(`${d}/`));
}

/** A source with scripted entries (hostile ones too) and contents. Records every drop. */
export class ScriptedChangeSource implements ChangeSource {
  readonly dropped: string[][] = [];

  constructor(public entries: unknown[], public readonly contents = new Map<string, Buffer>()) {}

  /** Adds a file entry with its bytes. */
  file(path: string, data: string | Buffer, mode = 0o644, extra: Partial<StagedEntry> = {}): this {
    const bytes = Buffer.from(data);
    this.entries.push({ path, type: 'file', mode, size: bytes.length, mtimeMs: 1, ino: this.entries.length + 1000, nlink: 1, ...extra });
    this.contents.set(path, bytes);
    return this;
  }

  /** Adds folder entries (as the overlay holds every parent of a staged path). */
  dirs(...paths: string[]): this {
    for (const p of paths) this.entry(p, 'dir');
    return this;
  }

  /** Adds any other entry. */
  entry(path: string, type: StagedEntry['type'], extra: Partial<StagedEntry> = {}): this {
    this.entries.push({ path, type, mode: type === 'dir' ? 0o755 : 0o644, size: 0, mtimeMs: 1, ino: this.entries.length + 1000, nlink: type === 'dir' ? 2 : 1, ...extra });
    return this;
  }

  async list(): Promise<StagedEntry[]> {
    return structuredClone(this.entries) as StagedEntry[];
  }

  async open(path: string): Promise<Readable> {
    const b = this.contents.get(path);
    if (!b) throw new Error(`${path} is not a staged file`);
    return Readable.from([b]);
  }

  async drop(paths: readonly string[]): Promise<void> {
    this.dropped.push([...paths]);
    this.entries = this.entries.filter((e) => !under((e as { path?: string }).path ?? '', paths));
    for (const k of [...this.contents.keys()]) if (under(k, paths)) this.contents.delete(k);
  }
}

/** A source backed by a local folder laid out like an overlay upper layer. */
export class DirChangeSource implements ChangeSource {
  readonly dropped: string[][] = [];

  constructor(readonly upper: string, public whiteouts: string[] = [], public opaque: string[] = []) {}

  async list(): Promise<StagedEntry[]> {
    const out: StagedEntry[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const name of (await readdir(rel ? join(this.upper, rel) : this.upper)).sort()) {
        const p = rel ? `${rel}/${name}` : name;
        const st = await lstat(join(this.upper, p));
        const type: StagedEntry['type'] = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : st.isBlockDevice() ? 'block' : 'char';
        const e: StagedEntry = { path: p, type, mode: st.mode & 0o7777, size: type === 'file' ? st.size : 0, mtimeMs: st.mtimeMs, ino: st.ino, nlink: st.nlink };
        if (type === 'symlink') e.linkTarget = await readlink(join(this.upper, p));
        if (type === 'dir' && this.opaque.includes(p)) e.opaque = true;
        out.push(e);
        if (type === 'dir') await walk(p);
      }
    };
    await walk('');
    for (const w of this.whiteouts) out.push({ path: w, type: 'whiteout', mode: 0, size: 0, mtimeMs: 0, ino: 0, nlink: 1 });
    return out;
  }

  async open(path: string): Promise<Readable> {
    const fh = await open(join(this.upper, path), C.O_RDONLY | C.O_NOFOLLOW);
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw new Error(`${path} is not a staged file`);
    }
    return fh.createReadStream();
  }

  async drop(paths: readonly string[]): Promise<void> {
    this.dropped.push([...paths]);
    for (const p of paths) await rm(join(this.upper, p), { recursive: true, force: true });
    this.whiteouts = this.whiteouts.filter((w) => !under(w, paths));
    this.opaque = this.opaque.filter((o) => !under(o, paths));
  }
}

/**
 * Lays out in `out` what the guest sees: `lower` with the whiteouts and opaque folders of
 * `source` applied, then its upper folder copied over (modes and links kept).
 */
export async function materializeGuestView(lower: string, source: DirChangeSource, out: string): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await cp(lower, out, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  for (const w of source.whiteouts) await rm(join(out, w), { recursive: true, force: true });
  for (const o of source.opaque) {
    await rm(join(out, o), { recursive: true, force: true });
    await mkdir(join(out, o), { recursive: true });
  }
  // A staged non-folder replaces a lower folder (and the reverse) before the copy lands.
  const entries = await source.list();
  for (const e of entries) {
    if (e.type === 'whiteout') continue;
    const st = await lstat(join(out, e.path)).catch(() => null);
    if (st && st.isDirectory() !== (e.type === 'dir')) await rm(join(out, e.path), { recursive: true, force: true });
  }
  await cp(source.upper, out, { recursive: true, verbatimSymlinks: true, force: true });
}

/** A tree to lay out: path → file content, `{ dir }`, `{ link }`, with an optional mode. */
export type TreeSpec = Record<string, string | Buffer | { dir: true; mode?: number } | { link: string } | { data: string | Buffer; mode: number }>;

/** Lays out `spec` under `root` (parents first; modes set after contents). */
export async function writeTree(root: string, spec: TreeSpec): Promise<void> {
  const dirModes: [string, number][] = [];
  await mkdir(root, { recursive: true });
  for (const [p, v] of Object.entries(spec).sort(([a], [b]) => a.localeCompare(b))) {
    const abs = join(root, p);
    await mkdir(join(abs, '..'), { recursive: true });
    if (typeof v === 'string' || Buffer.isBuffer(v)) await writeFile(abs, v);
    else if ('dir' in v) {
      await mkdir(abs, { recursive: true });
      if (v.mode !== undefined) dirModes.push([abs, v.mode]);
    } else if ('link' in v) await symlink(v.link, abs);
    else {
      await writeFile(abs, v.data);
      await chmod(abs, v.mode);
    }
  }
  for (const [abs, mode] of dirModes.reverse()) await chmod(abs, mode);
}
