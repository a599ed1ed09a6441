#!/usr/bin/env node
// `npm start`: set up this machine (system packages, npm packages, Electron's binary,
// the guest image and the helper), build the app, and launch it.
// Says plainly what is missing when a step cannot be done here.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
const fail = (msg) => { console.error(`\nnpm start: ${msg}`); process.exit(1); };

if (process.platform === 'linux' && run('bash', ['scripts/setup-system.sh']).status !== 0) {
  fail('could not install the system packages listed in scripts/system-packages.txt (see above).');
}
if (run('bash', ['scripts/ensure-npm.sh']).status !== 0) fail('`npm ci` failed (see above).');

// Electron's binary: npm install scripts are off (.npmrc), so fetch it here, once.
const electronDir = join(root, 'node_modules', 'electron');
const pathFile = join(electronDir, 'path.txt');
const haveElectron = () => existsSync(pathFile) && existsSync(join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim()));
if (!haveElectron()) {
  console.error('npm start: downloading the Electron binary…');
  const r = run(process.execPath, [join(electronDir, 'install.js')], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0 || !haveElectron()) {
    // The first line that is not a stack frame is the reason ("TypeError: fetch failed", a 404…).
    const why = (r.stderr || '').split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('at ')) ?? '';
    fail(
      'the Electron binary is missing and could not be downloaded' + (why ? ` (${why})` : '') + '.\n' +
      '  The desktop app needs it. On a machine with internet access run `npm start` again, or set\n' +
      '  ELECTRON_MIRROR to a reachable mirror. Headless use works without it: `npx viv --help`.',
    );
  }
}

for (const [what, args] of [['guest image', ['guest-image/build.sh']], ['native helper', ['native/build.sh']]]) {
  if (existsSync(join(root, args[0])) && run('bash', args).status !== 0) fail(`building the ${what} failed (see above).`);
}
if (existsSync(join(root, 'scripts/build-app.mjs')) && run(process.execPath, ['scripts/build-app.mjs']).status !== 0) {
  fail('building the app failed (see above).');
}
const electronBin = join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim());
const r = run(electronBin, ['.', ...process.argv.slice(2)]);
process.exit(r.status ?? 1);
