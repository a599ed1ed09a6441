import { describe, expect, it } from 'vitest';
import { formatUnified, textHunks } from './change-diff.js';
import { sniffKind } from './content-kind.js';

describe('diff data', () => {
  it('numbers lines on both sides and highlights the changed words', () => {
    const hunks = textHunks('one\ntwo three four\nfive\n', 'one\ntwo THREE four\nfive\nsix\n');
    expect(hunks).toHaveLength(1);
    const lines = hunks[0]!.lines;
    expect(lines.map((l) => [l.type, l.oldLine, l.newLine])).toEqual([
      ['context', 1, 1], ['del', 2, undefined], ['add', undefined, 2], ['context', 3, 3], ['add', undefined, 4],
    ]);
    expect(lines[1]!.segments).toEqual([{ text: 'two ', highlight: false }, { text: 'three', highlight: true }, { text: ' four', highlight: false }]);
    expect(lines[2]!.segments).toEqual([{ text: 'two ', highlight: false }, { text: 'THREE', highlight: true }, { text: ' four', highlight: false }]);
    expect(lines[4]!.segments).toEqual([{ text: 'six', highlight: true }]);
  });

  it('marks a missing newline at the end and formats a unified diff', () => {
    const hunks = textHunks('a\nb', 'a\nc');
    const del = hunks[0]!.lines.find((l) => l.type === 'del')!;
    const add = hunks[0]!.lines.find((l) => l.type === 'add')!;
    expect(del.noNewlineAtEnd && add.noNewlineAtEnd).toBe(true);
    const text = formatUnified({ path: 'f', status: 'modified', kind: 'text', hunks, oldMode: 0o644, newMode: 0o755 });
    expect(text).toBe('--- a/f\n+++ b/f\nold mode 644\nnew mode 755\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n');
  });

  it('sniffs a cut multi-byte character as text, invalid UTF-8 and NUL bytes as binary', () => {
    const euro = Buffer.from('€€€');
    expect(sniffKind(euro.subarray(0, 7), true)).toBe('text');
    expect(sniffKind(euro.subarray(0, 7), false)).toBe('binary');
    expect(sniffKind(Buffer.from([0x61, 0, 0x62]), false)).toBe('binary');
    expect(sniffKind(Buffer.from([0xc3, 0x28]), false)).toBe('binary');
  });
});
