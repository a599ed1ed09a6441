import { describe, expect, it } from 'vitest';
import { helperFileName, resourceDirs } from './resource-paths.js';

describe('resourceDirs', () => {
  it('packaged: helpers and guest sit under resourcesPath, outside the asar', () => {
    expect(resourceDirs({ packaged: true, resourcesPath: '/opt/Vivarium/resources', appPath: '/opt/Vivarium/resources/app.asar' }))
      .toEqual({ helperDir: '/opt/Vivarium/resources/helpers', guestDir: '/opt/Vivarium/resources/guest' });
  });
  it('development: the repository build folders', () => {
    expect(resourceDirs({ packaged: false, resourcesPath: '/x/electron/resources', appPath: '/src/vivarium' }))
      .toEqual({ helperDir: '/src/vivarium/dist/native', guestDir: '/src/vivarium/dist/guest' });
  });
});

describe('helperFileName', () => {
  it('names each platform\'s helper, and none elsewhere', () => {
    expect(helperFileName('linux')).toBe('qemu-helper');
    expect(helperFileName('win32')).toBe('hcs-helper.exe');
    expect(helperFileName('darwin')).toBe('vz-helper');
    expect(helperFileName('freebsd')).toBeNull();
  });
});
