/**
 * Which task is calling. The agent in the guest gets a placeholder key instead of the user's
 * (`vivgw.<taskId>.<token>`, set as ANTHROPIC_API_KEY / OPENAI_API_KEY); the gateway finds the
 * task by it, for the audit log, and refuses calls that carry none (another process in the
 * guest, or a key planted in the workspace). The placeholder is worthless outside the VM: the
 * gateway drops it and only the host adds the real key.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const PREFIX = 'vivgw';

/** Issues and checks per-task placeholder keys (one registry per VM, shared by its APIs). */
export class GatewayCallers {
  private readonly byTask = new Map<string, string>();

  /** A fresh placeholder key for a task (replacing any earlier one). */
  issue(taskId: string): string {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(taskId)) throw new Error(`not a task id: ${JSON.stringify(taskId)}`);
    const token = randomBytes(24).toString('base64url');
    this.byTask.set(taskId, token);
    return `${PREFIX}.${taskId}.${token}`;
  }

  /** Forgets a task's placeholder (when the task ends); later calls with it are refused. */
  revoke(taskId: string): void {
    this.byTask.delete(taskId);
  }

  /** The task whose placeholder is in `x-api-key` or `Authorization: Bearer`, or null. */
  taskFor(headers: IncomingHttpHeaders): string | null {
    const candidates: string[] = [];
    const apiKey = headers['x-api-key'];
    if (typeof apiKey === 'string') candidates.push(apiKey.trim());
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
    if (m) candidates.push(m[1]!);
    for (const c of candidates) {
      const parts = c.split('.');
      if (parts.length !== 3 || parts[0] !== PREFIX) continue;
      const expected = this.byTask.get(parts[1]!);
      if (expected === undefined) continue;
      const a = Buffer.from(parts[2]!);
      const b = Buffer.from(expected);
      if (a.length === b.length && timingSafeEqual(a, b)) return parts[1]!;
    }
    return null;
  }
}
