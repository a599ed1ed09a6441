// Image switching of a workspace's VM, on a scripted host (booting real VMs with both images:
// test/conformance/agents-core.test.ts).
import { describe, expect, it } from 'vitest';
import type { GuestImageKind } from '../agents/agent-profiles.js';
import type { GuestConnection } from '../guest/guest-connection.js';
import { RESTARTING, RESTART_WAITING, WAITING_FOR_RESTART, WorkspaceImages, imageCovers, type ImageHost } from './workspace-images.js';

class ScriptedHost implements ImageHost {
  image: GuestImageKind | null = null;
  last: GuestImageKind = 'tiny';
  log: string[] = [];
  missingStandard = false;
  running(): GuestImageKind | null {
    return this.image;
  }
  lastImage(): GuestImageKind {
    return this.last;
  }
  prefer(_ws: string, kind: GuestImageKind): void {
    this.log.push(`prefer ${kind}`);
    this.last = kind;
  }
  async prepare(kind: GuestImageKind): Promise<void> {
    this.log.push(`prepare ${kind}`);
    if (kind === 'standard' && this.missingStandard) throw new Error('no standard image: npm run guest:build');
  }
  async start(_ws: string, kind: GuestImageKind): Promise<void> {
    this.log.push(`start ${kind}`);
    await new Promise((r) => setTimeout(r, 5));
    this.image = kind;
    this.last = kind;
  }
  async stop(): Promise<void> {
    this.log.push('stop');
    this.image = null;
  }
  async connection(): Promise<GuestConnection> {
    return { id: `conn-${this.image}` } as unknown as GuestConnection;
  }
}

describe('WorkspaceImages', () => {
  it('orders images: standard covers tiny, never the reverse', () => {
    expect([imageCovers('standard', 'tiny'), imageCovers('tiny', 'tiny'), imageCovers('tiny', 'standard')]).toEqual([true, true, false]);
  });

  it('boots the image a task needs, and keeps a standard VM for later plain tasks', async () => {
    const host = new ScriptedHost();
    const images = new WorkspaceImages(host);
    const a = await images.acquire('w', 'standard', () => undefined);
    const b = await images.acquire('w', 'tiny', () => undefined);
    expect(host.log).toEqual(['start standard']);
    expect(images.busyCount('w')).toBe(2);
    a.release();
    a.release();
    b.release();
    expect(images.busyCount('w')).toBe(0);
  });

  it('restarts a tiny VM with the standard image once its running tasks end; later tasks wait for the restart', async () => {
    const host = new ScriptedHost();
    const images = new WorkspaceImages(host);
    const shell = await images.acquire('w', 'tiny', () => undefined);
    const agentStatus: string[] = [];
    const agent = images.acquire('w', 'standard', (l) => agentStatus.push(l));
    await new Promise((r) => setTimeout(r, 20));
    expect(host.log).toEqual(['start tiny', 'prepare standard']);
    expect(agentStatus).toEqual([RESTART_WAITING]);
    const laterStatus: string[] = [];
    const later = images.acquire('w', 'tiny', (l) => laterStatus.push(l));
    shell.release();
    const [ag, lt] = await Promise.all([agent, later]);
    expect(host.log).toEqual(['start tiny', 'prepare standard', 'prefer standard', 'stop', 'start standard']);
    expect(agentStatus).toEqual([RESTART_WAITING, RESTARTING]);
    expect(laterStatus).toEqual([WAITING_FOR_RESTART]);
    expect(host.image).toBe('standard');
    ag.release();
    lt.release();
  });

  it('leaves the running VM alone when the standard image cannot be used', async () => {
    const host = new ScriptedHost();
    host.missingStandard = true;
    const images = new WorkspaceImages(host);
    const shell = await images.acquire('w', 'tiny', () => undefined);
    await expect(images.acquire('w', 'standard', () => undefined)).rejects.toThrow(/npm run guest:build/);
    expect(host.log).toEqual(['start tiny', 'prepare standard']);
    expect(host.image).toBe('tiny');
    const again = await images.acquire('w', 'tiny', () => undefined);
    shell.release();
    again.release();
  });
});
