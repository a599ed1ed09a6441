// Where a boot's channel endpoints live, per platform. The POSIX folder check against a real
// file system (lstat, owner, mode) is in test/security/runtime-folder.test.ts.
import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { endpointStyleFor, helperFileName } from './helper-process.js';
import { MAX_ENDPOINT_BYTES } from './helper-protocol.js';
import { channelPaths, runtimeBaseDir } from './vm-runtime.js';

describe('runtimeBaseDir', () => {
  it('is $XDG_RUNTIME_DIR/vivarium, else a per-uid folder in the temp folder (POSIX)', () => {
    expect(runtimeBaseDir({ XDG_RUNTIME_DIR: '/run/user/1000' }, 'linux')).toBe('/run/user/1000/vivarium');
    expect(runtimeBaseDir({}, 'darwin')).toMatch(new RegExp(`/vivarium-${userInfo().uid}$`));
  });
  it('is a folder in the user profile on Windows, whatever XDG says', () => {
    expect(runtimeBaseDir({ LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local', XDG_RUNTIME_DIR: '/run/user/1' }, 'win32')).toBe('C:\\Users\\me\\AppData\\Local\\Vivarium\\run');
    // A relative LOCALAPPDATA is not trusted: the profile folder is used instead.
    expect(runtimeBaseDir({ LOCALAPPDATA: 'AppData' }, 'win32')).toMatch(/\\AppData\\Local\\Vivarium\\run$/);
  });
});

describe('channelPaths', () => {
  it('puts unix sockets in the private run dir', () => {
    expect(channelPaths('unix-socket', '/run/user/1000/vivarium/vm-7-abc', ['egress', 'logs'])).toEqual({
      ssh: '/run/user/1000/vivarium/vm-7-abc/ssh.sock',
      data: ['/run/user/1000/vivarium/vm-7-abc/egress.sock', '/run/user/1000/vivarium/vm-7-abc/logs.sock'],
    });
  });
  it('names Windows pipes \\\\.\\pipe\\vivarium-<random>-<channel>, fresh per boot and within the endpoint cap', () => {
    const a = channelPaths('named-pipe', 'C:\\ignored', ['egress']);
    const b = channelPaths('named-pipe', 'C:\\ignored', ['egress']);
    expect(a.ssh).toMatch(/^\\\\\.\\pipe\\vivarium-[0-9a-f]{32}-ssh$/);
    expect(a.data).toEqual([a.ssh.replace(/-ssh$/, '-egress')]);
    expect(b.ssh).not.toBe(a.ssh);
    const longest = channelPaths('named-pipe', '', ['a'.repeat(16)]);
    expect(Buffer.byteLength(longest.data[0]!)).toBeLessThanOrEqual(MAX_ENDPOINT_BYTES);
  });
});

describe('helpers per platform', () => {
  it('names each platform helper and the endpoints it uses', () => {
    expect([helperFileName('linux'), helperFileName('win32'), helperFileName('darwin'), helperFileName('aix')]).toEqual(['qemu-helper', 'hcs-helper.exe', 'vz-helper', null]);
    expect([endpointStyleFor('linux'), endpointStyleFor('win32'), endpointStyleFor('darwin')]).toEqual(['unix-socket', 'named-pipe', 'unix-socket']);
  });
});
