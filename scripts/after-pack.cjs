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

async function afterPack(context) {
  const archName = { 0: 'ia32', 1: 'x64', 2: 'armv7l', 3: 'arm64', 4: 'universal' }[context.arch] ?? String(context.arch);
  await flipFuses(electronBinary(context), fuseConfig(context.electronPlatformName, archName));
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
