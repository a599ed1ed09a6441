/**
 * Where the user's API keys live on the host. Keys MUST NOT enter the guest: the gateway reads
 * one per upstream request and adds it to the outgoing headers, nothing else sees it. The app's
 * implementation (Electron safeStorage) lives in app/main/shell; `viv` uses the environment.
 */
import { apiKeyInputSchema, type ApiKeyStatus } from '../../shared/contract-schemas.js';
import { VivError } from '../../shared/errors.js';
import type { ApiId } from './gateway-apis.js';

/** A source of the user's API keys. */
export interface KeyStore {
  /** The user's key for `api`, or null when none is stored. MUST NOT throw for a missing key. */
  keyFor(api: ApiId): Promise<string | null>;
}

/** A key store the user manages (`keys:list`, `keys:set`, `keys:clear`). Replies never carry a key. */
export interface ManagedKeyStore extends KeyStore {
  list(): Promise<ApiKeyStatus[]>;
  /** Validates and stores a key; throws invalidArgument (without quoting it) or unsupported. */
  set(api: ApiId, key: string): Promise<ApiKeyStatus>;
  /** Forgets the stored key (an environment variable, if set, still applies). */
  clear(api: ApiId): Promise<ApiKeyStatus>;
}

/** Every API, in the order the settings list them, with its name for people. */
export const API_NAMES: Readonly<Record<ApiId, string>> = { anthropic: 'Anthropic', openai: 'OpenAI' };

/**
 * A pasted key made usable: trimmed, then 1..4096 printable ASCII characters without spaces
 * (the contract's rule). Throws invalidArgument naming the rule, never the key.
 */
export function validatedApiKey(api: ApiId, key: string): string {
  const r = apiKeyInputSchema.safeParse(key);
  if (!r.success) throw new VivError('invalidArgument', `That ${API_NAMES[api]} API key was not stored: ${r.error.issues[0]?.message ?? 'it is malformed.'}`);
  return r.data;
}

/** The status of one API from a stored key (or none) and the environment. */
export function keyStatus(api: ApiId, stored: boolean, env: NodeJS.ProcessEnv): ApiKeyStatus {
  const envVar = KEY_ENV_VARS[api];
  const fromEnv = !!env[envVar]?.trim();
  return { api, name: API_NAMES[api], envVar, stored, source: stored ? 'app' : fromEnv ? 'env' : null };
}

const API_IDS = Object.keys(API_NAMES) as ApiId[];

/** Environment variable that holds each API's key for `viv`. */
export const KEY_ENV_VARS: Readonly<Record<ApiId, string>> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
};

/** Keys from environment variables (`viv`): ANTHROPIC_API_KEY, OPENAI_API_KEY. Empty counts as missing. */
export class EnvKeyStore implements ManagedKeyStore {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  keyFor(api: ApiId): Promise<string | null> {
    const value = this.env[KEY_ENV_VARS[api]]?.trim();
    return Promise.resolve(value ? value : null);
  }

  list(): Promise<ApiKeyStatus[]> {
    return Promise.resolve(API_IDS.map((api) => keyStatus(api, false, this.env)));
  }

  /** Always refused: `viv` cannot store keys (the environment variable is where they go). */
  set(api: ApiId, _key?: string): Promise<ApiKeyStatus> {
    return Promise.reject(new VivError('unsupported', `viv reads API keys from the environment: set ${KEY_ENV_VARS[api]} instead.`));
  }

  clear(api: ApiId): Promise<ApiKeyStatus> {
    return this.set(api);
  }
}

/**
 * Keys kept in memory only (the browser harness): stored keys first, then the environment.
 * They are gone when the process ends.
 */
export class MemoryKeyStore implements ManagedKeyStore {
  private readonly keys = new Map<ApiId, string>();

  constructor(private readonly env: NodeJS.ProcessEnv = {}) {}

  async keyFor(api: ApiId): Promise<string | null> {
    return this.keys.get(api) ?? new EnvKeyStore(this.env).keyFor(api);
  }

  async list(): Promise<ApiKeyStatus[]> {
    return API_IDS.map((api) => keyStatus(api, this.keys.has(api), this.env));
  }

  async set(api: ApiId, key: string): Promise<ApiKeyStatus> {
    this.keys.set(api, validatedApiKey(api, key));
    return keyStatus(api, true, this.env);
  }

  async clear(api: ApiId): Promise<ApiKeyStatus> {
    this.keys.delete(api);
    return keyStatus(api, false, this.env);
  }
}

/** Keys from a fixed map (tests, and callers that already decrypted them). */
export class StaticKeyStore implements KeyStore {
  constructor(private readonly keys: Partial<Record<ApiId, string>>) {}

  keyFor(api: ApiId): Promise<string | null> {
    return Promise.resolve(this.keys[api] ?? null);
  }
}
