/**
 * One window's connection to the core: validates every call against the contract, runs its
 * handler, and returns the `{ok, value} | {ok: false, error}` envelope. Shared by Electron's
 * ipc-main (one session per window) and the harness bridge (one per WebSocket).
 * A session owns the PTYs it opened: other sessions cannot write to them, and `dispose` closes
 * them and stops event delivery.
 */
import { randomUUID } from 'node:crypto';
import { VivError, toVivError } from '../../shared/errors.js';
import {
  events, isMethodName, methods, type EventEnvelope, type MethodInput, type MethodName, type MethodOutput, type Result,
} from '../../shared/contract.js';
import type { PtyHandle, WindowCore } from './window-core.js';

type Handlers = { [N in MethodName]: (input: MethodInput<N>) => Promise<MethodOutput<N>> };

/** A window's API session. */
export interface ApiSession {
  /** Handles one untrusted call. Never rejects: failures come back as error envelopes. */
  dispatch(channel: unknown, input: unknown): Promise<Result>;
  /** Closes this session's PTYs and stops its events. MUST be called when the window goes away. */
  dispose(): void;
}

/** What only the desktop shell can do for a window (absent in the browser harness). */
export interface ShellServices {
  /** Shows the system folder picker; resolves to the chosen folder or null. */
  pickFolder(): Promise<string | null>;
}

/** Opens a session on the core; `emit` sends one event envelope to this window only. */
export function createApiSession(
  core: WindowCore,
  emit: (envelope: EventEnvelope) => void,
  shell?: ShellServices,
): ApiSession {
  const ptys = new Map<string, PtyHandle>();
  let disposed = false;
  const send = (envelope: EventEnvelope): void => {
    if (!disposed) emit(envelope);
  };
  const unsubscribeEvents = core.subscribe((e) => send(e));
  const unsubscribeBoot = core.onBootProgress((p) => send({ event: 'vm:progress', payload: p }));

  const pty = (ptyId: string): PtyHandle => {
    const p = ptys.get(ptyId);
    if (!p) throw new VivError('notFound', `Terminal session ${ptyId} is not open in this window`);
    return p;
  };

  const handlers: Handlers = {
    'workspace:list': () => core.listWorkspaces(),
    'workspace:create': (i) => core.createWorkspace(i.path, i.mode, i.confirmWarnings),
    'workspace:remove': async (i) => {
      await core.removeWorkspace(i.workspaceId);
      return null;
    },
    'consent:inspect': (i) => core.inspectFolder(i.path),
    'grant:revoke': (i) => core.revokeGrant(i.workspaceId),
    'vm:start': (i) => core.startVm(i.workspaceId),
    'vm:stop': (i) => core.stopVm(i.workspaceId, i.force),
    'task:list': (i) => core.listTasks(i.workspaceId),
    'task:start': (i) => core.startTask(i.workspaceId, i.command, i.profileId),
    'task:cancel': (i) => core.cancelTask(i.taskId),
    'task:output': (i) => core.readTaskOutput(i.taskId, i.offset, i.maxBytes),
    'task:steps': (i) => core.taskSteps(i.taskId),
    'profile:list': () => core.listProfiles(),
    'pty:open': async (i) => {
      const ptyId = randomUUID();
      const handle = await core.openPty(i.workspaceId, i.cols, i.rows, {
        onData: (data) => send({ event: 'pty:data', payload: { ptyId, data } }),
        onExit: (exitCode) => {
          ptys.delete(ptyId);
          send({ event: 'pty:exit', payload: { ptyId, exitCode } });
        },
      });
      if (disposed) {
        handle.close();
        throw new VivError('invalidState', 'The window closed while the terminal was opening');
      }
      ptys.set(ptyId, handle);
      return { ptyId };
    },
    'pty:write': async (i) => {
      pty(i.ptyId).write(i.data);
      return null;
    },
    'pty:resize': async (i) => {
      pty(i.ptyId).resize(i.cols, i.rows);
      return null;
    },
    'pty:close': async (i) => {
      const p = ptys.get(i.ptyId);
      ptys.delete(i.ptyId);
      p?.close();
      return null;
    },
    'folder:pick': async () => {
      if (!shell) throw new VivError('unsupported', 'The folder picker exists only in the desktop app; type the folder\'s path instead.');
      return { path: await shell.pickFolder() };
    },
    'settings:update': (i) => core.updateSettings(i.workspaceId, { cpus: i.cpus, memoryMiB: i.memoryMiB, keepState: i.keepState }),
    'settings:discardState': async (i) => ({ discarded: await core.discardVmState(i.workspaceId) }),
    'workspace:setEgress': (i) => core.setEgress(i.workspaceId, i.policy),
    'egress:prompts': (i) => core.egressPrompts(i.workspaceId),
    'egress:answer': async (i) => ({ answered: await core.answerEgress(i.workspaceId, i.promptId, i.answer) }),
    'egress:log': (i) => core.egressLog(i.taskId),
    'egress:export': (i) => core.exportEgressLog(i.taskId),
    'keys:list': () => core.listKeys(),
    'keys:set': (i) => core.setKey(i.api, i.key),
    'keys:clear': (i) => core.clearKey(i.api),
    'gateway:log': (i) => core.gatewayLog(i.taskId),
  };

  return {
    async dispatch(channel, input) {
      if (!isMethodName(channel)) {
        return { ok: false, error: { code: 'invalidArgument', message: `Unknown method "${String(channel).slice(0, 80)}"` } };
      }
      if (disposed) return { ok: false, error: { code: 'invalidState', message: 'This window session is closed' } };
      const parsed = methods[channel].input.safeParse(input);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((x) => ({ path: x.path.map(String).join('.'), message: x.message }));
        return { ok: false, error: { code: 'invalidArgument', message: `Invalid input for ${channel}`, cause: issues } };
      }
      try {
        const handler = handlers[channel] as (i: unknown) => Promise<unknown>;
        const value = await handler(parsed.data);
        // Checking our own reply keeps core drift from reaching the window as odd data.
        const out = methods[channel].output.safeParse(value);
        if (!out.success) throw new VivError('internal', `The core's reply to ${channel} does not match the contract`, out.error.issues);
        return { ok: true, value: out.data };
      } catch (e) {
        return { ok: false, error: toVivError(e).toInfo() };
      }
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      unsubscribeEvents();
      unsubscribeBoot();
      for (const p of ptys.values()) p.close();
      ptys.clear();
    },
  };
}

/** Checks an outgoing event against the contract (used by tests and debug builds). */
export function isValidEvent(envelope: EventEnvelope): boolean {
  const schema = (events as Record<string, { safeParse(x: unknown): { success: boolean } }>)[envelope.event];
  return schema !== undefined && schema.safeParse(envelope.payload).success;
}
