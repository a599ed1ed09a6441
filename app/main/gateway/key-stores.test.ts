// The user's key stores: validation, the environment (viv), memory (harness) and the app's
// encrypted file (a reversible test cipher stands in for Electron safeStorage, which needs Electron).
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EncryptedKeyFile, KEY_FILE, type KeyCipher } from './encrypted-key-file.js';
import { EnvKeyStore, MemoryKeyStore, validatedApiKey } from './key-store.js';

const KEY = 'sk-ant-api03-abcDEF_123-xyz';

/** XOR with a fixed pad: enough to prove the file never holds the key in clear. */
function testCipher(reason: string | null = null): KeyCipher & { calls: number } {
  const pad = (b: Buffer): Buffer => Buffer.from(b.map((x, i) => x ^ (0x5a + i) % 256));
  return {
    calls: 0,
    unavailableReason: () => reason,
    encrypt(plain) {
      this.calls++;
      return Buffer.concat([Buffer.from('TC1'), pad(Buffer.from(plain))]);
    },
    decrypt(data) {
      if (data.subarray(0, 3).toString() !== 'TC1') throw new Error('not ours');
      return pad(data.subarray(3)).toString();
    },
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('key validation', () => {
  it('trims a pasted key and refuses empty, spaced, control or oversized keys without quoting them', () => {
    expect(validatedApiKey('anthropic', `  ${KEY}\n`)).toBe(KEY);
    for (const bad of ['', ' \n', 'sk ant', 'sk-\x07x', 'sk-é', 'k'.repeat(4097)]) {
      let message = '';
      try {
        validatedApiKey('openai', bad);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, JSON.stringify(bad)).toMatch(/^That OpenAI API key was not stored: /);
      if (bad.trim().length > 2) expect(message).not.toContain(bad.trim());
    }
  });
});

describe('EnvKeyStore and MemoryKeyStore', () => {
  it('viv: reads the environment and refuses to store, naming the variable', async () => {
    const s = new EnvKeyStore({ OPENAI_API_KEY: 'sk-o' });
    expect(await s.list()).toEqual([
      { api: 'anthropic', name: 'Anthropic', envVar: 'ANTHROPIC_API_KEY', stored: false, source: null },
      { api: 'openai', name: 'OpenAI', envVar: 'OPENAI_API_KEY', stored: false, source: 'env' },
    ]);
    await expect(s.set('anthropic', KEY)).rejects.toThrow(/set ANTHROPIC_API_KEY instead/);
  });

  it('harness: stored keys win over the environment and vanish on clear', async () => {
    const s = new MemoryKeyStore({ ANTHROPIC_API_KEY: 'sk-env' });
    expect(await s.keyFor('anthropic')).toBe('sk-env');
    expect(await s.set('anthropic', KEY)).toMatchObject({ stored: true, source: 'app' });
    expect(await s.keyFor('anthropic')).toBe(KEY);
    expect(await s.clear('anthropic')).toMatchObject({ stored: false, source: 'env' });
    expect(await s.keyFor('openai')).toBeNull();
  });
});

describe('EncryptedKeyFile', () => {
  it('stores keys encrypted in a 0600 file, reads them back in a new process, and clears them', async () => {
    const path = join(dir, KEY_FILE);
    const s = new EncryptedKeyFile(path, testCipher(), {});
    expect(await s.keyFor('anthropic')).toBeNull();
    expect(await s.set('anthropic', ` ${KEY} `)).toEqual({ api: 'anthropic', name: 'Anthropic', envVar: 'ANTHROPIC_API_KEY', stored: true, source: 'app' });
    await s.set('openai', 'sk-openai-1');
    const raw = await readFile(path, 'utf8');
    expect(raw).not.toContain(KEY);
    expect(raw).not.toContain('sk-openai-1');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = new EncryptedKeyFile(path, testCipher(), { ANTHROPIC_API_KEY: 'sk-env' });
    expect(await again.keyFor('anthropic')).toBe(KEY);
    expect(await again.keyFor('openai')).toBe('sk-openai-1');
    expect((await again.clear('anthropic')).source).toBe('env');
    expect(await again.keyFor('anthropic')).toBe('sk-env');
    expect(await new EncryptedKeyFile(path, testCipher(), {}).keyFor('anthropic')).toBeNull();
    expect((await new EncryptedKeyFile(path, testCipher(), {}).list()).map((k) => k.stored)).toEqual([false, true]);
  });

  it('refuses to store without a keyring, saying why, and writes nothing', async () => {
    const path = join(dir, KEY_FILE);
    const s = new EncryptedKeyFile(path, testCipher('the system keyring is not available (basic_text).'), {});
    await expect(s.set('anthropic', KEY)).rejects.toThrow(/cannot store the Anthropic API key safely: the system keyring is not available \(basic_text\)\. Set ANTHROPIC_API_KEY/);
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });

  it('survives a damaged file (keys ignored, reported) and a key sealed by another keyring', async () => {
    const path = join(dir, KEY_FILE);
    await writeFile(path, '{"schema":1,"keys":{"anthropic":"!!"}}');
    const s = new EncryptedKeyFile(path, testCipher(), {});
    expect(await s.keyFor('anthropic')).toBeNull();
    expect(s.problem).toMatch(/damaged/);
    await s.set('openai', 'sk-o');
    await writeFile(path, JSON.stringify({ schema: 1, keys: { anthropic: Buffer.from('other keyring').toString('base64') } }));
    const t = new EncryptedKeyFile(path, testCipher(), {});
    expect(await t.keyFor('anthropic')).toBeNull();
    expect((await t.list())[0]).toMatchObject({ stored: true });
  });

  it('keeps both keys when two are stored at once', async () => {
    const path = join(dir, KEY_FILE);
    const s = new EncryptedKeyFile(path, testCipher(), {});
    await Promise.all([s.set('anthropic', KEY), s.set('openai', 'sk-o')]);
    const t = new EncryptedKeyFile(path, testCipher(), {});
    expect([await t.keyFor('anthropic'), await t.keyFor('openai')]).toEqual([KEY, 'sk-o']);
  });
});
