/**
 * Where the user's API keys live on the host. Keys MUST NOT enter the guest: the gateway reads
 * one per upstream request and adds it to the outgoing headers, nothing else sees it. The app's
 * implementation (Electron safeStorage) lives in app/main/shell; `viv` uses the environment.
 */
import type { ApiId } from './gateway-apis.js';

/** A source of the user's API keys. */
export interface KeyStore {
  /** The user's key for `api`, or null when none is stored. MUST NOT throw for a missing key. */
  keyFor(api: ApiId): Promise<string | null>;
}

/** Environment variable that holds each API's key for `viv`. */
export const KEY_ENV_VARS: Readonly<Record<ApiId, string>> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
};

/** Keys from environment variables (`viv`): ANTHROPIC_API_KEY, OPENAI_API_KEY. Empty counts as missing. */
export class EnvKeyStore implements KeyStore {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  keyFor(api: ApiId): Promise<string | null> {
    const value = this.env[KEY_ENV_VARS[api]]?.trim();
    return Promise.resolve(value ? value : null);
  }
}

/** Keys from a fixed map (tests, and callers that already decrypted them). */
export class StaticKeyStore implements KeyStore {
  constructor(private readonly keys: Partial<Record<ApiId, string>>) {}

  keyFor(api: ApiId): Promise<string | null> {
    return Promise.resolve(this.keys[api] ?? null);
  }
}
