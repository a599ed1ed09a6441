// The packaging configuration is checked by electron-builder's own schema, and the fuses we
// ship are pinned, so a typo or a weakened fuse fails the suite rather than a release.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;

describe('electron-builder.yml', () => {
  it('passes electron-builder\'s schema validation', async () => {
    const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
    const { DebugLogger } = require('builder-util');
    const config = await getConfig(root, `${root}/electron-builder.yml`, null);
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    expect(config.asar).toBe(true);
    expect(config.afterPack).toBe('scripts/after-pack.cjs');
  });

  it('rejects an invalid configuration (the validator is really running)', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
    const { DebugLogger } = require('builder-util');
    await expect(validateConfiguration({ mac: { notAnOption: true } }, new DebugLogger(false))).rejects.toThrow(/Invalid configuration object[\s\S]*configuration\.mac/);
  });

  it('ships each helper and guest outside the asar, per platform', async () => {
    const { getConfig } = require('app-builder-lib/out/util/config/config.js');
    const config = await getConfig(root, `${root}/electron-builder.yml`, null);
    const froms = (p: { extraResources: { from: string }[] }) => p.extraResources.map((r) => r.from);
    expect(froms(config.mac)).toEqual(expect.arrayContaining(['dist/native/vz-helper', 'dist/guest', 'dist/guest-standard']));
    expect(froms(config.win)).toEqual(expect.arrayContaining(['dist/native/hcs-helper.exe', 'dist/guest/x86_64', 'dist/guest-standard/x86_64']));
    expect(froms(config.linux)).toEqual(expect.arrayContaining(['dist/native/qemu-helper', 'dist/guest/x86_64', 'dist/guest-standard']));
    // The standard root goes in the format each backend attaches: VHDX for HCS, raw ext4 elsewhere.
    const filterOf = (p: { extraResources: { from: string; filter?: string[] }[] }, from: string) => p.extraResources.find((r) => r.from === from)?.filter ?? [];
    expect(filterOf(config.win, 'dist/guest-standard/x86_64')).toContain('rootfs.vhdx');
    expect(filterOf(config.mac, 'dist/guest-standard').join(' ')).not.toContain('vhdx');
    expect(filterOf(config.linux, 'dist/guest-standard').join(' ')).not.toContain('vhdx');
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(config.mac.signIgnore).toContain('helpers/vz-helper$');
    expect(config.deb.depends.join(' ')).toContain('qemu-system');
  });

  it('gives the virtualization entitlement to the vz-helper only', () => {
    const helper = readFileSync(`${root}/native/vz-helper/vz-helper.entitlements`, 'utf8');
    expect(helper).toMatch(/<key>com\.apple\.security\.virtualization<\/key>\s*<true\/>/);
    for (const f of ['entitlements.mac.plist', 'entitlements.mac.inherit.plist']) {
      expect(readFileSync(`${root}/build/${f}`, 'utf8')).not.toContain('com.apple.security.virtualization');
    }
  });
});

describe('guest images per package', () => {
  const present = ['guest', 'guest-standard'].flatMap((dir) => ['x86_64', 'arm64'].map((arch) => ({ dir, arch })));
  it('keeps only the app arch on macOS, and only the standard image of the app arch elsewhere', () => {
    const { surplusGuestDirs } = require('./after-pack.cjs');
    expect(surplusGuestDirs('darwin', 'arm64', present)).toEqual([{ dir: 'guest', arch: 'x86_64' }, { dir: 'guest-standard', arch: 'x86_64' }]);
    expect(surplusGuestDirs('darwin', 'x64', present)).toEqual([{ dir: 'guest', arch: 'arm64' }, { dir: 'guest-standard', arch: 'arm64' }]);
    expect(surplusGuestDirs('linux', 'x64', present)).toEqual([{ dir: 'guest-standard', arch: 'arm64' }]);
  });
});

describe('fuses', () => {
  it('turn off RunAsNode, NODE_OPTIONS and inspect; turn on cookie encryption and asar integrity', () => {
    const { fuseConfig } = require('./after-pack.cjs');
    const { FuseV1Options, FuseVersion } = require('@electron/fuses');
    const c = fuseConfig('linux', 'x64');
    expect(c.version).toBe(FuseVersion.V1);
    expect(c[FuseV1Options.RunAsNode]).toBe(false);
    expect(c[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(false);
    expect(c[FuseV1Options.EnableNodeCliInspectArguments]).toBe(false);
    expect(c[FuseV1Options.EnableCookieEncryption]).toBe(true);
    expect(c[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(true);
    expect(c[FuseV1Options.OnlyLoadAppFromAsar]).toBe(true);
    expect(c[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(false);
    expect(fuseConfig('darwin', 'arm64').resetAdHocDarwinSignature).toBe(true);
  });
});
