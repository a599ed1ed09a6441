// ESLint flat config. The layer rules of DESIGN.md / STYLE.md rules 1-2 live here:
// a wrong import between layers is a lint error, not a review comment.
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert', 'buffer', 'child_process', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises',
  'http', 'https', 'http2', 'net', 'os', 'path', 'process', 'readline', 'stream', 'tls', 'url',
  'util', 'worker_threads', 'zlib', 'v8', 'vm', 'tty', 'perf_hooks', 'timers',
];
const noNode = [
  { group: ['node:*'], message: 'This layer must not use Node APIs.' },
  ...nodeBuiltins.map((n) => ({ group: [n, `${n}/*`], message: 'This layer must not use Node APIs.' })),
];
const noElectron = { group: ['electron', 'electron/*'], message: 'Only app/main/shell and app/preload import electron.' };
const rawIpc = {
  name: 'electron',
  importNames: ['ipcMain', 'ipcRenderer'],
  message: 'Raw IPC is allowed only in app/main/shell/ipc-main.ts and app/preload/preload.ts; derive from the contract.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.build/', '.cache/', 'native/vz-helper/.build/', 'test-results/', '**/*.d.ts', 'out/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': ['error', { paths: [rawIpc] }],
    },
  },
  {
    files: ['app/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          noElectron, ...noNode,
          { group: ['react', 'react-dom', 'react/*', 'zustand', 'zustand/*'], message: 'app/shared has no UI code.' },
          { group: ['**/main/**', '**/renderer/**', '**/preload/**'], message: 'app/shared imports only itself.' },
        ],
      }],
    },
  },
  {
    files: ['app/renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          noElectron, ...noNode,
          { group: ['ssh2', 'ssh2/*', 'ws'], message: 'The renderer talks to main only through window.vivarium.' },
          { group: ['**/main/**', '**/main', '**/preload/**', '**/preload'], message: 'app/renderer imports only app/shared and itself.' },
        ],
      }],
    },
  },
  {
    files: ['app/main/**/*.ts'],
    ignores: ['app/main/shell/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          noElectron,
          { group: ['**/renderer/**', '**/preload/**'], message: 'Main must not import renderer or preload code.' },
        ],
      }],
    },
  },
  {
    files: ['app/main/shell/**/*.ts'],
    ignores: ['app/main/shell/ipc-main.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [rawIpc],
        patterns: [{ group: ['**/renderer/**', '**/preload/**'], message: 'Main must not import renderer or preload code.' }],
      }],
    },
  },
  {
    files: ['app/preload/**/*.ts'],
    ignores: ['app/preload/preload.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [rawIpc],
        patterns: [{ group: ['**/main/**', '**/renderer/**'], message: 'Preload imports only app/shared and electron.' }],
      }],
    },
  },
  {
    files: ['app/preload/preload.ts', 'app/main/shell/ipc-main.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.{ts,mjs}', '**/*.test.ts', '**/*.test.tsx'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
