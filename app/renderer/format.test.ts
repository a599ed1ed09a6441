import { describe, expect, it } from 'vitest';
import { baseName, shortenPath, formatBytes, formatCount, formatDuration, taskDuration } from './format.js';

describe('format', () => {
  it('sizes', () => {
    expect(formatBytes(0)).toBe('0 bytes');
    expect(formatBytes(1)).toBe('1 byte');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(12_400_000)).toBe('12.4 MB');
    expect(formatBytes(250_000_000_000)).toBe('250 GB');
  });
  it('counts', () => {
    expect(formatCount(1, 'file', 'files')).toBe('1 file');
    expect(formatCount(1234, 'file', 'files')).toBe('1,234 files');
  });
  it('durations', () => {
    expect(formatDuration(420)).toBe('0.4 s');
    expect(formatDuration(12_300)).toBe('12 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(7_440_000)).toBe('2 h 04 min');
  });
  it('task durations run until now while running', () => {
    expect(taskDuration({ startedAt: null, endedAt: null }, 5)).toBeNull();
    expect(taskDuration({ startedAt: 1000, endedAt: null }, 4000)).toBe(3000);
    expect(taskDuration({ startedAt: 1000, endedAt: 2000 }, 4000)).toBe(1000);
  });
  it('shortens long paths from the left, by whole components', () => {
    expect(shortenPath('/tmp/a', 20)).toBe('/tmp/a');
    expect(shortenPath('/home/ann/projects/data-pipeline', 26)).toBe('…/projects/data-pipeline');
    expect(shortenPath('/x/averyveryverylongfoldername', 10)).toBe('…/averyveryverylongfoldername');
  });
  it('folder names', () => {
    expect(baseName('/home/ann/projects/site/')).toBe('site');
    expect(baseName('C:\\Users\\ann\\code')).toBe('code');
  });
});
