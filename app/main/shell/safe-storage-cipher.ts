/**
 * Electron safeStorage as the app's KeyCipher (app/main/gateway/encrypted-key-file.ts): the OS
 * keyring (Keychain, DPAPI, libsecret/kwallet) encrypts the user's API keys. On Linux without a
 * keyring Electron falls back to `basic_text`, a fixed password that only obfuscates — that
 * counts as unavailable, so the key is refused rather than stored weakly.
 */
import { safeStorage } from 'electron';
import type { KeyCipher } from '../gateway/encrypted-key-file.js';

/** The cipher; ask `unavailableReason()` before each use (the keyring may come and go). */
export function safeStorageCipher(platform: NodeJS.Platform = process.platform): KeyCipher {
  return {
    unavailableReason() {
      if (!safeStorage.isEncryptionAvailable()) return 'the operating system offers no encryption for app secrets here (Electron safeStorage is unavailable).';
      if (platform === 'linux') {
        const backend = safeStorage.getSelectedStorageBackend();
        if (backend === 'basic_text' || backend === 'unknown') {
          return `no system keyring (GNOME Keyring or KWallet) is running, so Electron safeStorage would only obfuscate the key (backend "${backend}").`;
        }
      }
      return null;
    },
    encrypt: (plain) => safeStorage.encryptString(plain),
    decrypt: (data) => safeStorage.decryptString(data),
  };
}
