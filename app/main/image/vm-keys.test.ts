import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { isVivError } from '../../shared/errors.js';
import { dropbearHostKey, generateVmKeys, hostKeyVerifier, publicKeyBlob } from './vm-keys.js';

// A fixed ed25519 key and what `dropbearconvert openssh dropbear` (dropbear 2022.83) made of it.
const OPENSSH_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz
c2gtZWQyNTUxOQAAACBg53FCP08QPaXq+aPJPWuumzee6PtQ96ShT/A1XbgHIAAA
AIjbMPSp2zD0qQAAAAtzc2gtZWQyNTUxOQAAACBg53FCP08QPaXq+aPJPWuumzee
6PtQ96ShT/A1XbgHIAAAAEAeURHoQIq6Tr8qK0WCwJi3tjX06QNiw49kgBiwgRb5
hmDncUI/TxA9per5o8k9a66bN57o+1D3pKFP8DVduAcgAAAAAXgBAgME
-----END OPENSSH PRIVATE KEY-----
`;
const DROPBEAR_HEX =
  '0000000b7373682d65643235353139000000401e5111e8408aba4ebf2a2b4582c098b7b635f4e90362c38f648018b08116f98660e771423f4f103da5eaf9a3c93d6bae9b379ee8fb50f7a4a14ff0355db80720';

describe('vm-keys', () => {
  it('converts an OpenSSH ed25519 key byte-for-byte like dropbearconvert', () => {
    expect(dropbearHostKey(OPENSSH_KEY).toString('hex')).toBe(DROPBEAR_HEX);
  });

  it('generates distinct ed25519 client and host keys in OpenSSH format', () => {
    const k = generateVmKeys('vm1');
    expect(k.clientPrivateKey).toContain('BEGIN OPENSSH PRIVATE KEY');
    expect(k.clientPublicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+ vivarium-client@vm1$/);
    expect(k.hostPublicKey).toMatch(/^ssh-ed25519 /);
    expect(k.clientPublicKey.split(' ')[1]).not.toBe(k.hostPublicKey.split(' ')[1]);
    // The dropbear form carries the same public key as the public line.
    const db = dropbearHostKey(k.hostPrivateKey);
    expect(db.subarray(db.length - 32).equals(publicKeyBlob(k.hostPublicKey).subarray(-32))).toBe(true);
  });

  it('pins the host key: accepts exactly the pinned blob', () => {
    const k = generateVmKeys();
    const other = generateVmKeys();
    const verify = hostKeyVerifier(k.hostPublicKey);
    const parsed = ssh2.utils.parseKey(k.hostPrivateKey);
    if (parsed instanceof Error) throw parsed;
    expect(verify(parsed.getPublicSSH())).toBe(true);
    expect(verify(publicKeyBlob(other.hostPublicKey))).toBe(false);
    expect(verify(Buffer.alloc(0))).toBe(false);
    expect(verify(publicKeyBlob(k.hostPublicKey).subarray(1))).toBe(false);
  });

  it('rejects malformed public keys and keys dropbear cannot use', () => {
    expect(() => publicKeyBlob('not a key')).toThrow(/Not an SSH public key/);
    const k = generateVmKeys();
    expect(() => publicKeyBlob(k.hostPublicKey.replace('ssh-ed25519', 'ssh-rsa'))).toThrow(/does not match/);
    const e = (() => { try { dropbearHostKey('-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----'); } catch (x) { return x; } })();
    expect(isVivError(e)).toBe(true);
    const ecdsa = ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 });
    expect(() => dropbearHostKey(ecdsa.private)).toThrow(/needs ssh-ed25519/);
  });
});

describe('generateVmKeys over many draws', () => {
  it('never returns a malformed key (ssh2 drops leading zero bytes of 1 in 256 public keys)', () => {
    for (let i = 0; i < 400; i++) {
      const k = generateVmKeys();
      for (const line of [k.clientPublicKey, k.hostPublicKey]) {
        const blob = publicKeyBlob(line);
        expect(blob.length).toBe(4 + 11 + 4 + 32);
      }
      expect(dropbearHostKey(k.hostPrivateKey).length).toBe(4 + 11 + 4 + 64);
    }
  });
});
