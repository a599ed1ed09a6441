/**
 * The one error model of Vivarium (STYLE.md rule 6): `{code, message, cause}` with a closed
 * code set, used by the helper protocol, the core, IPC and the CLI alike.
 */
import { z } from 'zod';

/** The closed set of error codes. The helper protocol uses exactly these (PROTOCOL.md). */
export const ERROR_CODES = [
  'invalidArgument',
  'unsupported',
  'notFound',
  'invalidState',
  'timeout',
  'hypervisorUnavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const errorCodeSchema = z.enum(ERROR_CODES);

/** The wire shape of an error: what crosses the helper protocol, IPC and the bridge. */
export const errorInfoSchema = z.object({
  code: errorCodeSchema,
  message: z.string(),
  cause: z.unknown().optional(),
});
export type ErrorInfo = z.infer<typeof errorInfoSchema>;

/**
 * An error with a code from the closed set. `message` is for people and names the real cause;
 * `cause` carries native detail (errno, HRESULT, NSError, stderr tail) for the "details" view.
 */
export class VivError extends Error {
  readonly code: ErrorCode;
  override readonly cause: unknown;

  constructor(code: ErrorCode, message: string, cause?: unknown) {
    super(message);
    this.name = 'VivError';
    this.code = code;
    this.cause = cause;
  }

  /** The wire shape; `cause` is reduced to plain data so it survives JSON. */
  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message };
    if (this.cause !== undefined) info.cause = plainCause(this.cause);
    return info;
  }

  /** Rebuilds an error from its wire shape (the preload and the bridge client do this). */
  static fromInfo(info: ErrorInfo): VivError {
    return new VivError(info.code, info.message, info.cause);
  }
}

/** True for a VivError, or anything shaped like one after crossing a boundary. */
export function isVivError(e: unknown): e is VivError {
  return e instanceof VivError;
}

/**
 * Turns anything thrown into a VivError. An existing VivError passes through unchanged:
 * context is added once and never wrapped twice.
 */
export function toVivError(e: unknown, fallbackMessage = 'Unexpected internal error'): VivError {
  if (e instanceof VivError) return e;
  if (e instanceof Error) return new VivError('internal', e.message || fallbackMessage, plainCause(e));
  return new VivError('internal', fallbackMessage, plainCause(e));
}

function plainCause(c: unknown): unknown {
  if (c instanceof VivError) return c.toInfo();
  if (c instanceof Error) {
    const out: Record<string, unknown> = { name: c.name, message: c.message };
    for (const k of ['code', 'errno', 'syscall', 'path'] as const) {
      const v = (c as unknown as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = v;
    }
    return out;
  }
  try {
    return JSON.parse(JSON.stringify(c)) as unknown;
  } catch {
    return String(c);
  }
}
