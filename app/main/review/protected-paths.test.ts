import { describe, expect, it } from 'vitest';
import { foldName, PROTECTED_RULES, protectedRule } from './protected-paths.js';

describe('protected paths', () => {
  it.each([
    '.git/config', '.git/hooks/pre-commit', '.git/hooks', '.git/info/attributes', '.git/commondir', '.git/config.worktree',
    '.git/modules/lib/config', '.git/modules/a/modules/b/hooks/post-checkout', '.git/worktrees/wt/config.worktree',
    '.gitattributes', '.gitmodules', '.envrc', '.vscode/tasks.json', '.vscode', 'proj.code-workspace', '.idea/workspace.xml',
    '.devcontainer/devcontainer.json', '.devcontainer.json', '.husky/pre-commit', '.pre-commit-config.yaml', 'mise.toml',
    'deep/nested/repo/.git/config', 'sub/.vscode/launch.json', 'git~1/config',
  ])('%s is protected', (p) => {
    expect(protectedRule(p, 'file')).not.toBeNull();
  });

  it.each(['.git/HEAD', '.git/objects/ab/cdef', '.git/refs/heads/main', '.gitignore', 'src/config', 'config', 'hooks/pre-commit', '.github/workflows/ci.yml', 'code-workspace.md', 'README.md'])('%s is not protected', (p) => {
    expect(protectedRule(p, 'file')).toBeNull();
  });

  it('.git as a file or link (a gitdir redirect) is protected, as a folder it is not', () => {
    expect(protectedRule('.git', 'file')).not.toBeNull();
    expect(protectedRule('sub/.git', 'symlink')).not.toBeNull();
    expect(protectedRule('.git', 'dir')).toBeNull();
  });

  it('matches the way macOS and Windows fold names: case, Unicode forms, ignorable code points, trailing dots', () => {
    for (const p of ['.GIT/Config', '.Git/HOOKS/pre-commit', '.g\u200Cit/config', '.git./config', '.git /config', '.VSCode/settings.json', 'X.CODE-WORKSPACE', '.ENVRC', 'a.code-worksp\u212Ace'.replace('\u212A', 'a'), '\uFF0Egit/config'])
      expect(protectedRule(p, 'file'), p).not.toBeNull();
    expect(foldName('\u212Aelvin')).toBe('kelvin');
    expect(foldName('Cafe\u0301')).toBe(foldName('CAF\u00c9'));
  });

  it('every rule says why', () => {
    for (const r of PROTECTED_RULES) expect(r.why.length, r.pattern).toBeGreaterThan(10);
  });
});
