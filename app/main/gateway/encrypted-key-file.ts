/**
 * The app's key store (issue 10): the user's API keys encrypted with the OS keyring through a
 * KeyCipher (Electron safeStorage, adapted in app/main/shell) in one file of the data folder,
 * `api-keys.json` — mode 0600, replaced atomically, never holding a key in clear. When the
 * cipher is unavailable (no keyring), storing is refused with its reason instead of falling back
 * to plain text. A key stored here wins over the environment variable; without one the
 * environment variable applies (as for `viv`).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { ApiKeyStatus } from '../../shared/contract-schemas.js';
import { VivError } from '../../shared/errors.js';
import { writeFileAtomic } from '../state/atomic-file.js';
import type { ApiId } from './gateway-apis.js';
import { API_NAMES, EnvKeyStore, keyStatus, validatedApiKey, type ManagedKeyStore } from './key-store.js';

/** File name of the encrypted keys in the data folder. */
export const KEY_FILE = 'api-keys.json';

/** Encryption by the OS keyring. */
export interface KeyCipher {
  /** Null when encrypt/decrypt work; otherwise why not, in words for the user. */
  unavailableReason(): string | null;
  encrypt(plain: string): Buffer;
  /** Throws when the data was not encrypted by this keyring (another user, a reset keyring). */
  decrypt(data: Buffer): string;
}

const fileSchema = z.object({
  schema: z.literal(1),
  keys: z.partialRecord(z.enum(['anthropic', 'openai']), z.string().regex(/^[A-Za-z0-9+/=]+$/)),
});
type KeyFile = z.infer<typeof fileSchema>;

/** Encrypted keys in `<dataDir>/api-keys.json`, falling back to the environment. */
export class EncryptedKeyFile implements ManagedKeyStore {
  private file: KeyFile | null = null;
  private readonly clear_ = new Map<ApiId, string>();
  private chain: Promise<unknown> = Promise.resolve();
  /** Why the file was unreadable at load (it is then treated as empty and rewritten on the next set). */
  problem: string | null = null;

  constructor(
    private readonly path: string,
    private readonly cipher: KeyCipher,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private async load(): Promise<KeyFile> {
    if (this.file) return this.file;
    let text: string | null = null;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.problem = `${this.path} could not be read (${(e as Error).message}).`;
    }
    let file: KeyFile = { schema: 1, keys: {} };
    if (text !== null) {
      try {
        file = fileSchema.parse(JSON.parse(text));
      } catch {
        this.problem = `${this.path} is damaged; its keys were ignored. Store them again.`;
      }
    }
    this.file = file;
    return file;
  }

  // One load/write at a time, so two quick `set`s cannot lose each other's key.
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  async keyFor(api: ApiId): Promise<string | null> {
    const cached = this.clear_.get(api);
    if (cached) return cached;
    const file = await this.serial(() => this.load());
    const sealed = file.keys[api];
    if (sealed && this.cipher.unavailableReason() === null) {
      try {
        const key = this.cipher.decrypt(Buffer.from(sealed, 'base64'));
        this.clear_.set(api, key);
        return key;
      } catch {
        // Sealed by another keyring: as if absent (list still shows it stored; storing again fixes it).
      }
    }
    return new EnvKeyStore(this.env).keyFor(api);
  }

  async list(): Promise<ApiKeyStatus[]> {
    const file = await this.serial(() => this.load());
    return (Object.keys(API_NAMES) as ApiId[]).map((api) => keyStatus(api, file.keys[api] !== undefined, this.env));
  }

  async set(api: ApiId, key: string): Promise<ApiKeyStatus> {
    const valid = validatedApiKey(api, key);
    const why = this.cipher.unavailableReason();
    if (why !== null) throw new VivError('unsupported', `Vivarium cannot store the ${API_NAMES[api]} API key safely: ${why} Set ${keyStatus(api, false, {}).envVar} in Vivarium's environment instead.`);
    return this.serial(async () => {
      const file = await this.load();
      const next: KeyFile = { schema: 1, keys: { ...file.keys, [api]: this.cipher.encrypt(valid).toString('base64') } };
      await writeFileAtomic(this.path, `${JSON.stringify(next)}\n`, 0o600);
      this.file = next;
      this.clear_.set(api, valid);
      return keyStatus(api, true, this.env);
    });
  }

  async clear(api: ApiId): Promise<ApiKeyStatus> {
    return this.serial(async () => {
      const file = await this.load();
      this.clear_.delete(api);
      if (file.keys[api] !== undefined) {
        const keys = { ...file.keys };
        delete keys[api];
        const next: KeyFile = { schema: 1, keys };
        await writeFileAtomic(this.path, `${JSON.stringify(next)}\n`, 0o600);
        this.file = next;
      }
      return keyStatus(api, false, this.env);
    });
  }
}
