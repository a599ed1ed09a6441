// The folder rules of each platform, run on any machine (the platform is a parameter).
import { describe, expect, it } from 'vitest';
import { folderNotes, isInside, refusalFor } from './folder-rules.js';

const linux = { home: '/home/me', dataDir: '/home/me/.local/share/vivarium', platform: 'linux' as const };
const mac = { home: '/Users/me', dataDir: '/Users/me/Library/Application Support/Vivarium', platform: 'darwin' as const };
const win = { home: 'C:\\Users\\me', dataDir: 'C:\\Users\\me\\AppData\\Roaming\\Vivarium', platform: 'win32' as const };

describe('Linux', () => {
  it('refuses roots, system folders, temp roots, the data folder and parents of home', () => {
    expect(refusalFor('/', linux)).toMatch(/root of a filesystem/);
    for (const p of ['/etc', '/usr/share/doc', '/opt/google', '/var/lib/docker', '/run/user/1000', '/nix/store', '/boot/efi']) expect(refusalFor(p, linux), p).toMatch(/system folder/);
    expect(refusalFor('/tmp', linux)).toMatch(/temporary folder/);
    expect(refusalFor('/home/me/.local/share/vivarium/vms', linux)).toMatch(/data folder/);
    expect(refusalFor('/home', linux)).toMatch(/contains your home folder/);
    expect(refusalFor('/home', { ...linux, home: '/root' })).toMatch(/every user's home folder/);
    expect(refusalFor('/srv', linux)).toMatch(/every service/);
  });

  it('allows project folders, temp and /srv sub-folders and the home folder (which only warns)', () => {
    for (const p of ['/home/me/src/app', '/tmp/work', '/var/tmp/x', '/home/me', '/srv/git/app', '/home/other/shared']) expect(refusalFor(p, linux), p).toBeNull();
    expect(refusalFor('/root/proj', { ...linux, home: '/root', dataDir: '/root/.local/share/vivarium' })).toBeNull();
    expect(refusalFor('/root/proj', linux)).toMatch(/system folder/);
  });

  it('refuses where external disks are mounted, but allows folders on them, with a note', () => {
    for (const p of ['/mnt', '/mnt/usb', '/media', '/media/me', '/media/me/USB STICK', '/run/media', '/run/media/me', '/run/media/me/Backup']) {
      expect(refusalFor(p, linux), p).toMatch(/where external disks are mounted/);
      expect(folderNotes(p, linux), p).toEqual([]);
    }
    for (const [p, at] of [['/mnt/usb/proj', '/mnt/usb'], ['/media/me/USB STICK/src/app', '/media/me/USB STICK'], ['/run/media/me/Backup/work', '/run/media/me/Backup'], ['/mnt/c/Users/me/src', '/mnt/c']]) {
      expect(refusalFor(p!, linux), p).toBeNull();
      expect(folderNotes(p!, linux), p).toEqual([{ kind: 'other', message: expect.stringContaining(`is on a disk mounted at ${at}.`), paths: [] }]);
    }
    expect(folderNotes('/home/me/src', linux)).toEqual([]);
  });

  it('compares case-sensitively', () => {
    expect(refusalFor('/ETC', linux)).toBeNull();
    expect(isInside('/Home/me/x', '/home/me', 'linux')).toBe(false);
  });
});

describe('macOS', () => {
  it('refuses the system folders, /Users itself and the disk mount points', () => {
    for (const p of ['/System/Library', '/Library/Keychains', '/Applications/Xcode.app', '/private/etc', '/usr/local/bin', '/private/var/db', '/cores', '/opt/homebrew']) {
      expect(refusalFor(p, mac), p).toMatch(/system folder/);
    }
    expect(refusalFor('/Users', mac)).toMatch(/contains your home folder/);
    expect(refusalFor('/Users', { ...mac, home: '/var/root' })).toMatch(/every user's home folder/);
    expect(refusalFor('/Volumes', mac)).toMatch(/where external disks are mounted/);
    expect(refusalFor('/Volumes/Backup', mac)).toMatch(/where external disks are mounted/);
    expect(refusalFor('/Users/me/Library/Application Support/Vivarium/vms', mac)).toMatch(/data folder/);
  });

  it('allows home and temp folders (under /private) and folders on external disks, with a note', () => {
    for (const p of ['/Users/me/src/app', '/Users/me/Library/Mobile Documents/x', '/private/tmp/work', '/private/var/folders/xy/T/job', '/Users/Shared/team']) expect(refusalFor(p, mac), p).toBeNull();
    expect(refusalFor('/private/tmp', mac)).toMatch(/temporary folder/);
    expect(refusalFor('/Volumes/Backup/src', mac)).toBeNull();
    expect(folderNotes('/Volumes/Backup/src', mac)[0]?.message).toContain('is on a disk mounted at /Volumes/Backup.');
  });

  it('compares case-insensitively, as APFS does', () => {
    expect(refusalFor('/system/library', mac)).toMatch(/system folder/);
    expect(refusalFor('/VOLUMES/backup', mac)).toMatch(/where external disks are mounted/);
    expect(refusalFor('/users/ME/Library/application support/vivarium', mac)).toMatch(/data folder/);
    expect(refusalFor('/USERS/me/src', mac)).toBeNull();
    expect(isInside('/users/me/x', '/Users/Me', 'darwin')).toBe(true);
  });
});

describe('Windows', () => {
  it('refuses drive roots, UNC roots and the system folders of any drive', () => {
    for (const p of ['C:\\', 'D:\\', '\\\\server\\share', '\\\\server\\share\\']) expect(refusalFor(p, win), p).toMatch(/root of a filesystem/);
    for (const p of ['C:\\Windows', 'C:\\Windows\\System32\\drivers', 'C:\\Program Files\\App', 'C:\\Program Files (x86)', 'C:\\ProgramData\\ssh', 'D:\\Windows', 'C:\\$Recycle.Bin\\S-1-5-21']) {
      expect(refusalFor(p, win), p).toMatch(/system folder/);
    }
    expect(refusalFor('C:\\Users', win)).toMatch(/contains your home folder/);
    expect(refusalFor('D:\\Users', win)).toMatch(/every user's home folder/);
    expect(refusalFor('C:\\Users\\me\\AppData\\Roaming\\Vivarium\\vms', win)).toMatch(/data folder/);
  });

  it('allows the home folder, folders in it and folders on other drives and shares', () => {
    for (const p of ['C:\\Users\\me', 'C:\\Users\\me\\source\\repos\\app', 'D:\\src\\app', '\\\\server\\share\\team\\app', 'C:\\work', 'C:\\Users\\Public\\Documents']) {
      expect(refusalFor(p, win), p).toBeNull();
    }
    expect(folderNotes('D:\\src\\app', win)).toEqual([]);
  });

  it('compares case-insensitively and reads \\\\?\\ paths like plain ones, as NTFS does', () => {
    expect(refusalFor('c:\\windows\\system32', win)).toMatch(/system folder/);
    expect(refusalFor('C:\\PROGRAM FILES\\x', win)).toMatch(/system folder/);
    expect(refusalFor('c:\\users\\ME\\appdata\\roaming\\vivarium', win)).toMatch(/data folder/);
    expect(refusalFor('\\\\?\\C:\\Windows', win)).toMatch(/system folder/);
    expect(refusalFor('\\\\?\\UNC\\server\\share', win)).toMatch(/root of a filesystem/);
    expect(isInside('c:\\users\\me\\x', 'C:\\Users\\Me', 'win32')).toBe(true);
    expect(isInside('C:\\Users\\meme', 'C:\\Users\\me', 'win32')).toBe(false);
  });
});
