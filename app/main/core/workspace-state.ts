/**
 * The workspaces of state.json, held in memory and written through the StateStore (atomically)
 * on every change. Changes are serialised by the caller's awaits; every change replaces the
 * in-memory state first, so readers never see a half-applied one.
 */
import { VivError } from '../../shared/errors.js';
import type { StateFile, StoredWorkspace } from '../state/state-schema.js';
import type { StateStore } from '../state/state-store.js';

/** The stored workspaces. */
export class WorkspaceState {
  constructor(private readonly store: StateStore, private state: StateFile) {}

  /** Every workspace, in creation order. */
  all(): readonly StoredWorkspace[] {
    return this.state.workspaces;
  }

  /** One workspace; throws notFound. */
  get(id: string): StoredWorkspace {
    const w = this.find(id);
    if (!w) throw new VivError('notFound', `There is no workspace ${id}.`);
    return w;
  }

  find(id: string): StoredWorkspace | undefined {
    return this.state.workspaces.find((x) => x.id === id);
  }

  /** The workspace granting exactly `canonicalPath` with `mode`, if any. */
  forFolder(canonicalPath: string, mode: 'ro' | 'rw'): StoredWorkspace | undefined {
    return this.state.workspaces.find((w) => w.grant?.canonicalPath === canonicalPath && w.grant.mode === mode);
  }

  async add(w: StoredWorkspace): Promise<StoredWorkspace> {
    this.state = { ...this.state, workspaces: [...this.state.workspaces, w] };
    await this.store.save(this.state);
    return w;
  }

  /** Applies `patch` to a workspace and saves; returns the new record. */
  async update(id: string, patch: Partial<Omit<StoredWorkspace, 'id'>>): Promise<StoredWorkspace> {
    const next = { ...this.get(id), ...patch };
    this.state = { ...this.state, workspaces: this.state.workspaces.map((x) => (x.id === id ? next : x)) };
    await this.store.save(this.state);
    return next;
  }

  async remove(id: string): Promise<void> {
    this.state = { ...this.state, workspaces: this.state.workspaces.filter((w) => w.id !== id) };
    await this.store.save(this.state);
  }
}
