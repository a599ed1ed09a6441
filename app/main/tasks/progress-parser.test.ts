import { describe, expect, it } from 'vitest';
import { ProgressParser } from './progress-parser.js';

describe('ProgressParser', () => {
  it('reads OSC 9;4 progress ended by BEL or ST', () => {
    const p = new ProgressParser();
    expect(p.feed('\x1b]9;4;1;0\x07')).toBe(true);
    expect(p.progress).toEqual({ kind: 'normal', percent: 0 });
    p.feed('\x1b]9;4;1;50\x1b\\');
    expect(p.progress).toEqual({ kind: 'normal', percent: 50 });
    p.feed('\x1b]9;4;2;75\x07');
    expect(p.progress).toEqual({ kind: 'error', percent: 75 });
    p.feed('\x1b]9;4;3\x07');
    expect(p.progress).toEqual({ kind: 'indeterminate', percent: null });
    p.feed('\x1b]9;4;0;0\x07');
    expect(p.progress).toEqual({ kind: 'none', percent: null });
  });

  it('survives sequences split across chunks at every position', () => {
    const seq = 'step one\n\x1b]9;4;1;42\x07step two\n';
    for (let cut = 0; cut <= seq.length; cut++) {
      const p = new ProgressParser();
      p.feed(seq.slice(0, cut));
      p.feed(seq.slice(cut));
      expect(p.progress).toEqual({ kind: 'normal', percent: 42 });
      expect(p.statusLine).toBe('step two');
    }
  });

  it('clamps percent, ignores other OSC and keeps the last non-empty line without colors', () => {
    const p = new ProgressParser();
    p.feed('\x1b]0;window title\x07\x1b]9;4;1;250\x07');
    expect(p.progress.percent).toBe(100);
    p.feed('\x1b[1;32mbuilding\x1b[0m 3/10\n\n   \n');
    expect(p.statusLine).toBe('building 3/10');
    p.feed('downloading 10%\rdownloading 90%\n');
    expect(p.statusLine).toBe('downloading 90%');
  });

  it('bounds memory on an endless line or unterminated sequence', () => {
    const p = new ProgressParser();
    p.feed('x'.repeat(100_000) + '\n');
    expect(p.statusLine!.length).toBe(512);
    p.feed('\x1b]9;4;' + '1'.repeat(100_000));
    expect(p.progress.kind).toBe('none');
  });
});
