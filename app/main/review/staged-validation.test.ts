import { describe, expect, it } from 'vitest';
import { checkEntry, checkRelativePath } from './staged-validation.js';

describe('guest path validation', () => {
  it.each(['', '/etc', 'a//b', 'a/', './a', 'a/..', '..', 'a/../b', 'nul\0', 'back\\slash', 'tab\tname', `${'x'.repeat(256)}/y`, 'a/'.repeat(2100) + 'b', '\uD800lone'])('refuses %j', (p) => {
    expect(checkRelativePath(p, 'linux')).not.toBeNull();
  });

  it.each(['a', 'a/b/c.txt', '.hidden', 'with space', 'ünïcödé/文件', '...', 'a..b'])('accepts %j', (p) => {
    expect(checkRelativePath(p, 'linux')).toBeNull();
  });

  it('refuses names Windows cannot hold or maps elsewhere, only on Windows', () => {
    for (const p of ['CON', 'nul.txt', 'a/COM1.log', 'x:stream', 'what?', 'trailing.', 'space ', 'PROGRA~1/x']) {
      expect(checkRelativePath(p, 'win32'), p).not.toBeNull();
      if (!p.includes('~')) expect(checkRelativePath(p, 'linux'), p).toBeNull();
    }
  });

  it('checks every value of an entry', () => {
    const ok = { path: 'a', type: 'file', mode: 0o644, size: 3, mtimeMs: 1, ino: 5, nlink: 1 };
    expect(checkEntry(ok, 'linux').ok).toBe(true);
    const bad: [object, RegExp][] = [
      [{ ...ok, mode: -1 }, /permission/], [{ ...ok, mode: 1.5 }, /permission/], [{ ...ok, size: Number.MAX_SAFE_INTEGER + 2 }, /size/],
      [{ ...ok, type: 'dir', size: 4 }, /size/], [{ ...ok, nlink: 0 }, /link count/], [{ ...ok, ino: -3 }, /inode/], [{ ...ok, mtimeMs: NaN }, /time/],
      [{ ...ok, type: 'symlink', size: 0 }, /target/], [{ ...ok, type: 'symlink', size: 0, linkTarget: 'a\0b' }, /target/], [{ ...ok, linkTarget: 'x' }, /only a symbolic link/],
      [{ ...ok, opaque: 'yes' }, /opaque/], [{ ...ok, pathBytes: new Uint8Array([0xc3]) }, /UTF-8/],
    ];
    for (const [e, why] of bad) {
      const r = checkEntry(e, 'linux');
      expect(r.ok, JSON.stringify(e)).toBe(false);
      if (!r.ok && r.path !== null) expect(r.refusal.reason).toMatch(why);
    }
    expect(checkEntry('nope', 'linux')).toMatchObject({ ok: false, path: null });
  });
});
