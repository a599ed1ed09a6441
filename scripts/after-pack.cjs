// electron-builder afterPack hook: flips the Electron fuses listed in build/fuses.json with
// @electron/fuses, and on macOS signs the vz-helper with its own entitlements
// (native/vz-helper/vz-helper.entitlements) before electron-builder signs the app; the helper is
// in mac.signIgnore so that signing cannot silently drop com.apple.security.virtualization.
'use strict';
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { flipFuses, FuseVersion, FuseV1Options } = require('@electron/fuses');
const shipped = require('../build/fuses.json');

/** The @electron/fuses config for a platform/arch, built from build/fuses.json. */
function fuseConfig(platform, archName) {
  const config = { version: FuseVersion.V1, resetAdHocDarwinSignature: platform === 'darwin' && archName === 'arm64' };
  for (const [name, value] of Object.entries(shipped)) {
    if (name.startsWith('$')) continue;
    if (!(name in FuseV1Options)) throw new Error(`build/fuses.json: unknown fuse ${name}`);
    config[FuseV1Options[name]] = value;
  }
  return config;
}

function electronBinary(context) {
  const { electronPlatformName: platform, appOutDir, packager } = context;
  const product = packager.appInfo.productFilename;
  if (platform === 'darwin' || platform === 'mas') return path.join(appOutDir, `${product}.app`, 'Contents', 'MacOS', product);
  if (platform === 'win32') return path.join(appOutDir, `${product}.exe`);
  return path.join(appOutDir, packager.executableName);
}

/** The Resources folder of a packed app. */
function resourcesDir(context) {
  const { electronPlatformName: platform, appOutDir, packager } = context;
  if (platform === 'darwin' || platform === 'mas') return path.join(appOutDir, `${packager.appInfo.productFilename}.app`, 'Contents', 'Resources');
  return path.join(appOutDir, 'resources');
}

/**
 * Guest image folders (`<resources>/<dir>/<guest arch>`) that a package for `platform`/`archName`
 * does not need: on macOS every other arch (VZ runs only the host's), elsewhere only the
 * standard image's other arch (the tiny one stays for emulated guests on Linux).
 */
function surplusGuestDirs(platform, archName, present) {
  const own = archName === 'x64' ? 'x86_64' : archName;
  return present.filter(({ dir, arch }) => arch !== own && (dir === 'guest-standard' || platform === 'darwin' || platform === 'mas'));
}

function pruneGuestImages(context, archName) {
  const fs = require('node:fs');
  const resources = resourcesDir(context);
  const present = [];
  for (const dir of ['guest', 'guest-standard']) {
    const parent = path.join(resources, dir);
    if (!fs.existsSync(parent)) continue;
    for (const arch of fs.readdirSync(parent)) present.push({ dir, arch });
  }
  for (const { dir, arch } of surplusGuestDirs(context.electronPlatformName, archName, present)) {
    fs.rmSync(path.join(resources, dir, arch), { recursive: true, force: true });
  }
}

async function afterPack(context) {
  const archName = { 0: 'ia32', 1: 'x64', 2: 'armv7l', 3: 'arm64', 4: 'universal' }[context.arch] ?? String(context.arch);
  await flipFuses(electronBinary(context), fuseConfig(context.electronPlatformName, archName));
  pruneGuestImages(context, archName);
  if (context.electronPlatformName === 'darwin') {
    const product = context.packager.appInfo.productFilename;
    const helper = path.join(context.appOutDir, `${product}.app`, 'Contents', 'Resources', 'helpers', 'vz-helper');
    const identity = process.env.CSC_NAME || '-';
    execFileSync('codesign', [
      '--force', '--options', 'runtime', '--timestamp=none',
      '--entitlements', path.join(__dirname, '..', 'native', 'vz-helper', 'vz-helper.entitlements'),
      '--sign', identity, helper,
    ], { stdio: 'inherit' });
  }
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.fuseConfig = fuseConfig;
module.exports.surplusGuestDirs = surplusGuestDirs;
