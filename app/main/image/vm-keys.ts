/**
 * Per-VM SSH keys: a client key pair (main logs in with it) and a guest host key (the guest's
 * dropbear serves it and main pins it). Both are generated on the host, so the guest never
 * generates keys at boot and there is no trust-on-first-use.
 */
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2'; // CommonJS: named ESM imports of its members fail at runtime
import { VivError } from '../../shared/errors.js';

/** The keys of one VM. Private keys are OpenSSH PEM text; public keys are `ssh-ed25519 <b64> <comment>` lines. */
export interface VmKeys {
  /** Client private key for ssh2's `privateKey` option. MUST be stored 0600. */
  clientPrivateKey: string;
  /** Client public key line; goes to the guest's authorized_keys. */
  clientPublicKey: string;
  /** Guest host private key (OpenSSH format); `dropbearHostKey()` converts it for the guest. */
  hostPrivateKey: string;
  /** Guest host public key line; main pins it with `hostKeyVerifier`. */
  hostPublicKey: string;
}

/** Generates fresh ed25519 client and host key pairs for one VM. */
export function generateVmKeys(vmId = 'vm'): VmKeys {
  const client = generateEd25519(`vivarium-client@${vmId}`);
  const host = generateEd25519(`vivarium-host@${vmId}`);
  return {
    clientPrivateKey: client.private,
    clientPublicKey: client.public.trim(),
    hostPrivateKey: host.private,
    hostPublicKey: host.public.trim(),
  };
}

/**
 * One well-formed ed25519 pair in OpenSSH format (also for test SSH servers: never call ssh2's
 * generator directly). ssh2 1.17 strips every leading zero byte of the DER bit string,
 * so a public key that starts with 0x00 (1 in 256) comes out 31 bytes long and unusable; such
 * a pair is detected here and drawn again.
 */
export function generateEd25519(comment: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 16; attempt++) {
    const k = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    const blob = publicKeyBlob(k.public);
    const key = readSshString(blob, readSshString(blob, 0).next).value;
    if (key.length === 32) return k;
  }
  throw new VivError('internal', 'Could not generate a well-formed ed25519 key pair');
}

/** The raw SSH wire blob of a public key line (`ssh-ed25519 AAAA... comment`). */
export function publicKeyBlob(publicKeyLine: string): Buffer {
  const parts = publicKeyLine.trim().split(/\s+/);
  const b64 = parts[1];
  if (!parts[0] || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new VivError('invalidArgument', `Not an SSH public key line: "${publicKeyLine.slice(0, 40)}..."`);
  }
  const blob = Buffer.from(b64, 'base64');
  let type: string;
  try {
    type = readSshString(blob, 0).value.toString('latin1');
  } catch {
    throw new VivError('invalidArgument', `Not an SSH public key line (bad key blob): "${publicKeyLine.slice(0, 40)}"`);
  }
  if (type !== parts[0]) {
    throw new VivError('invalidArgument', `SSH public key line: type "${parts[0]}" does not match its key blob`);
  }
  return blob;
}

/**
 * A host-key check for ssh2's `hostVerifier` (used without `hostHash`, so ssh2 passes the raw
 * key blob). Accepts only the pinned key; comparison is constant-time.
 */
export function hostKeyVerifier(pinnedHostPublicKey: string): (key: Buffer) => boolean {
  const pinned = publicKeyBlob(pinnedHostPublicKey);
  return (key: Buffer) => Buffer.isBuffer(key) && key.length === pinned.length && timingSafeEqual(key, pinned);
}

/**
 * Converts an unencrypted OpenSSH ed25519 private key to dropbear's key-file format, which is
 * what dropbear 2022.83 `-r` reads (it rejects OpenSSH PEM: "String too long").
 * Dropbear format: string "ssh-ed25519", then string(32-byte seed || 32-byte public key).
 */
export function dropbearHostKey(openSshPrivateKey: string): Buffer {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]+?)-----END OPENSSH PRIVATE KEY-----/.exec(openSshPrivateKey);
  if (!m?.[1]) throw new VivError('invalidArgument', 'Host key is not an OpenSSH private key (BEGIN OPENSSH PRIVATE KEY)');
  const raw = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (raw.subarray(0, magic.length).toString('latin1') !== magic) {
    throw new VivError('invalidArgument', 'Host key: missing the openssh-key-v1 header');
  }
  let off = magic.length;
  const cipher = readSshString(raw, off);
  off = cipher.next;
  if (cipher.value.toString() !== 'none') {
    throw new VivError('invalidArgument', `Host key is encrypted (${cipher.value.toString()}); the guest needs an unencrypted key`);
  }
  off = readSshString(raw, off).next; // kdf name
  off = readSshString(raw, off).next; // kdf options
  const count = raw.readUInt32BE(off);
  off += 4;
  if (count !== 1) throw new VivError('invalidArgument', `Host key file holds ${count} keys; expected exactly 1`);
  off = readSshString(raw, off).next; // public key blob
  const priv = readSshString(raw, off).value;
  let p = 8; // two check ints
  const type = readSshString(priv, p);
  p = type.next;
  if (type.value.toString() !== 'ssh-ed25519') {
    throw new VivError('invalidArgument', `Host key type is ${type.value.toString()}; the guest needs ssh-ed25519`);
  }
  p = readSshString(priv, p).next; // public key (32 bytes)
  const secret = readSshString(priv, p).value; // seed || public, 64 bytes
  if (secret.length !== 64) throw new VivError('invalidArgument', `Host key: ed25519 secret is ${secret.length} bytes, expected 64`);
  return Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(secret)]);
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function readSshString(buf: Buffer, off: number): { value: Buffer; next: number } {
  if (off + 4 > buf.length) throw new VivError('invalidArgument', 'SSH key data is truncated');
  const len = buf.readUInt32BE(off);
  if (off + 4 + len > buf.length) throw new VivError('invalidArgument', 'SSH key data is truncated');
  return { value: buf.subarray(off + 4, off + 4 + len), next: off + 4 + len };
}
