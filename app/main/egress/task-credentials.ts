/**
 * Which task made a request. Every connection arrives over the same guest port (127.0.0.1:3128
 * forwarded over SSH), so the proxy cannot tell tasks apart by address. Instead each task gets
 * its own proxy URL with credentials (`http://<taskId>:<token>@127.0.0.1:3128`); HTTP clients
 * send them as `Proxy-Authorization: Basic ...`, and the proxy maps the token back to the task.
 * Attribution is for the audit log only — the policy is per workspace, so a process that
 * borrows another task's token gains nothing but a wrong log line.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** The guest-side address of the proxy: the core forwards guest 127.0.0.1:3128 to it. */
export const GUEST_PROXY_HOST = '127.0.0.1';
export const GUEST_PROXY_PORT = 3128;

/** Issues and checks per-task proxy credentials. */
export class TaskCredentials {
  private readonly byTask = new Map<string, string>();

  /** A fresh token for a task (replacing any earlier one). */
  issue(taskId: string): string {
    const token = randomBytes(18).toString('base64url');
    this.byTask.set(taskId, token);
    return token;
  }

  /** Forgets a task's token (when the task ends). */
  revoke(taskId: string): void {
    this.byTask.delete(taskId);
  }

  /** The task named by a `Proxy-Authorization` header, or null when absent or not matching. */
  taskFor(header: string | undefined): string | null {
    if (!header) return null;
    const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) return null;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const taskId = decoded.slice(0, colon);
    const expected = this.byTask.get(taskId);
    if (expected === undefined) return null;
    // The token alphabet (base64url) needs no percent-encoding, so clients send it as issued.
    const given = Buffer.from(decoded.slice(colon + 1));
    const want = Buffer.from(expected);
    return given.length === want.length && timingSafeEqual(given, want) ? taskId : null;
  }
}

/**
 * The environment a task gets when its workspace has network: the proxy for HTTP and HTTPS in
 * both spellings tools read, and NO_PROXY for the guest's own loopback. Pass the task's id and
 * token to have its requests logged under it.
 */
export function proxyEnvironment(credentials?: { taskId: string; token: string }): Record<string, string> {
  const auth = credentials ? `${encodeURIComponent(credentials.taskId)}:${encodeURIComponent(credentials.token)}@` : '';
  const url = `http://${auth}${GUEST_PROXY_HOST}:${GUEST_PROXY_PORT}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
  };
}
