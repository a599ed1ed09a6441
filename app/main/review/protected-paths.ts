/**
 * Protected paths (issue 15): files that a program on the host runs, or reads commands from,
 * without the user asking (git on `git status`, direnv on `cd`, an editor on opening the
 * folder). A staged change to one is flagged "runs code on your computer", is never applied by
 * "apply all", and needs its own confirmation. Deleting one is not protected: a deletion adds
 * nothing the host could run.
 *
 * Patterns match at any depth (nested repositories, a folder opened one level down), by
 * whole '/'-separated components: `*` within one name, `**` for any number of components
 * (including none, so `.vscode/**` covers the folder itself). Names are compared folded the
 * way macOS and Windows file systems fold them (case, Unicode normalisation, ignorable code
 * points, trailing dots and spaces), because `.GIT/Config` lands on `.git/config` there.
 */

/** One protected pattern and why it is protected. */
export interface ProtectedRule {
  pattern: string;
  /** When set, the rule applies only to these staged types (e.g. `.git` as a file, not the folder). */
  types?: readonly ('file' | 'dir' | 'symlink')[];
  why: string;
}

/** The list, as data. Order matters only for which reason is shown first. */
export const PROTECTED_RULES: readonly ProtectedRule[] = [
  // git: config names commands (core.fsmonitor, core.hooksPath, core.sshCommand, aliases,
  // filter and diff drivers, credential helpers) that run on `git status` and friends.
  { pattern: '.git/config', why: 'git runs commands named in its configuration (core.fsmonitor, hooks path, filters)' },
  { pattern: '.git/config.worktree', why: 'per-worktree git configuration, read like .git/config' },
  { pattern: '.git/hooks/**', why: 'git runs hooks on commit, checkout, merge and push' },
  { pattern: '.git/info/**', why: 'info/attributes selects filters and diff drivers that run commands' },
  { pattern: '.git/commondir', why: 'moves where git reads its configuration and hooks from' },
  { pattern: '.git/modules/**/config', why: "a submodule's git configuration" },
  { pattern: '.git/modules/**/hooks/**', why: "a submodule's git hooks" },
  { pattern: '.git/modules/**/info/**', why: "a submodule's attributes" },
  { pattern: '.git/modules/**/commondir', why: "moves where a submodule's git reads its configuration" },
  { pattern: '.git/worktrees/*/config.worktree', why: "a linked worktree's git configuration" },
  { pattern: '.git/worktrees/*/commondir', why: "moves where a linked worktree's git reads its configuration" },
  // `.git` as a file (or link) redirects git to another folder, whose config and hooks are not
  // under any protected name. As a folder it is just a new repository (its config is covered).
  { pattern: '.git', types: ['file', 'symlink'], why: 'a .git file points git at another folder, with its own configuration and hooks' },
  { pattern: '.gitattributes', why: 'selects filters and diff drivers that git runs on checkout and diff' },
  { pattern: '.gitmodules', why: 'submodule URLs and update commands that git fetches and runs' },
  // Shell environment loaders run on `cd` into the folder.
  { pattern: '.envrc', why: 'direnv runs it when a shell enters the folder' },
  { pattern: 'mise.toml', why: 'mise runs its hooks and tasks when a shell enters the folder' },
  { pattern: '.mise.toml', why: 'mise runs its hooks and tasks when a shell enters the folder' },
  { pattern: 'mise.local.toml', why: 'mise runs its hooks and tasks when a shell enters the folder' },
  { pattern: '.mise.local.toml', why: 'mise runs its hooks and tasks when a shell enters the folder' },
  { pattern: '.mise/**', why: 'mise configuration and tasks' },
  { pattern: 'mise/**', why: 'mise configuration and tasks' },
  { pattern: '.config/mise/**', why: 'mise configuration and tasks' },
  { pattern: '.config/mise.toml', why: 'mise configuration and tasks' },
  // Editors and IDEs: tasks, launch configurations, extensions' settings that name programs.
  { pattern: '.vscode/**', why: 'VS Code runs tasks and programs named in its folder settings' },
  { pattern: '*.code-workspace', why: 'a VS Code workspace file carries settings and tasks' },
  { pattern: '.idea/**', why: 'JetBrains IDEs run configurations and tools named in it' },
  { pattern: '.devcontainer/**', why: 'dev containers run its lifecycle commands on the host and in containers' },
  { pattern: '.devcontainer.json', why: 'dev containers run its lifecycle commands' },
  { pattern: '.fleet/**', why: 'Fleet runs configurations named in it' },
  { pattern: '.zed/**', why: 'Zed runs tasks and language servers named in it' },
  { pattern: '.exrc', why: 'vim and neovim run it with the exrc option' },
  { pattern: '.nvimrc', why: 'neovim runs it with the exrc option' },
  { pattern: '.nvim.lua', why: 'neovim runs it with the exrc option' },
  { pattern: '.lazy.lua', why: 'LazyVim runs it when the folder is opened' },
  // Hook managers whose scripts git runs on commit through a hooks path set once.
  { pattern: '.husky/**', why: 'husky hooks, which git runs on commit' },
  { pattern: '.pre-commit-config.yaml', why: 'pre-commit runs the commands it names on every commit' },
  { pattern: 'lefthook.yml', why: 'lefthook runs the commands it names on git hooks' },
  { pattern: '.lefthook.yml', why: 'lefthook runs the commands it names on git hooks' },
  { pattern: 'lefthook-local.yml', why: 'lefthook runs the commands it names on git hooks' },
  { pattern: '.lefthook/**', why: 'lefthook hook scripts' },
];

/** Default-ignorable code points that HFS+ and some tools drop from names (so `.g\u200Cit` is `.git`). */
const IGNORABLE = /[\u00AD\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8]/g;

/** Folds one name the way case- and normalisation-insensitive file systems compare names. */
export function foldName(name: string): string {
  const folded = name.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC').replace(IGNORABLE, '');
  // Windows drops trailing dots and spaces, so `.git.` and `.git ` open `.git`; `git~1` is the
  // short (8.3) name Windows gives `.git`.
  const trimmed = folded.replace(/[. ]+$/, '') || folded;
  return trimmed === 'git~1' ? '.git' : trimmed;
}

/** Folds every component of a relative path. */
export function foldPath(path: string): string {
  return path.split('/').map(foldName).join('/');
}

interface CompiledRule {
  rule: ProtectedRule;
  parts: readonly (string | RegExp | null)[]; // null = `**`
}

const COMPILED: readonly CompiledRule[] = PROTECTED_RULES.map((rule) => ({
  rule,
  parts: rule.pattern.split('/').map((p) => {
    if (p === '**') return null;
    if (!p.includes('*')) return foldName(p);
    const re = p.split('*').map((s) => foldName(s).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*');
    return new RegExp(`^${re}$`, 'u');
  }),
}));

const RULE_NAMES = new Set(COMPILED.flatMap((c) => c.parts.filter((p): p is string => typeof p === 'string')));
const WILDCARDS = COMPILED.flatMap((c) => c.parts.filter((p): p is RegExp => p instanceof RegExp));

/** The protected rule a path falls under, or null. `type` is the staged type of the path. */
export function protectedRule(path: string, type: 'file' | 'dir' | 'symlink'): ProtectedRule | null {
  const parts = foldPath(path).split('/');
  // Most paths hold no name any rule names: skip the matching for them.
  if (!parts.some((p) => RULE_NAMES.has(p)) && !WILDCARDS.some((w) => w.test(parts.at(-1)!))) return null;
  for (const c of COMPILED) {
    if (c.rule.types && !c.rule.types.includes(type)) continue;
    // "At any depth" is a leading `**`. Memoised on (pattern index, name index): linear in the
    // path's length even for a hostile path of thousands of components.
    if (matches([null, ...c.parts], parts)) return c.rule;
  }
  return null;
}

function matches(pat: readonly (string | RegExp | null)[], parts: readonly string[]): boolean {
  const memo = new Map<number, boolean>();
  const from = (pi: number, i: number): boolean => {
    const key = pi * (parts.length + 1) + i;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let ok: boolean;
    if (pi === pat.length) ok = i === parts.length;
    else {
      const p = pat[pi];
      if (p === null) ok = from(pi + 1, i) || (i < parts.length && from(pi, i + 1));
      else {
        const name = parts[i];
        ok = name !== undefined && (typeof p === 'string' ? name === p : p !== undefined && p.test(name)) && from(pi + 1, i + 1);
      }
    }
    memo.set(key, ok);
    return ok;
  };
  return from(0, 0);
}
