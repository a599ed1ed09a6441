import { describe, expect, it } from 'vitest';
import { drawIcon, rgbaToBgra } from './icon-art.js';

const alphaAt = (px: Uint8Array, size: number, x: number, y: number) => px[(y * size + x) * 4 + 3]!;
const rgbAt = (px: Uint8Array, size: number, x: number, y: number) => Array.from(px.slice((y * size + x) * 4, (y * size + x) * 4 + 3));

describe('drawIcon', () => {
  const size = 32;
  it('idle is a ring: the centre is empty, the rim is drawn, corners are transparent', () => {
    const px = drawIcon('idle', size);
    expect(px).toHaveLength(size * size * 4);
    expect(alphaAt(px, size, 16, 16)).toBe(0);
    expect(alphaAt(px, size, 16, 3)).toBeGreaterThan(200);
    expect(alphaAt(px, size, 0, 0)).toBe(0);
  });
  it('busy adds a green dot in the centre, so it differs from idle at a glance', () => {
    const px = drawIcon('busy', size);
    expect(alphaAt(px, size, 16, 16)).toBeGreaterThan(200);
    expect(rgbAt(px, size, 16, 16)).toEqual([46, 160, 103]);
  });
  it('attention is a filled amber disc', () => {
    const px = drawIcon('attention', size);
    expect(alphaAt(px, size, 16, 16)).toBe(255);
    expect(rgbAt(px, size, 16, 16)).toEqual([230, 150, 20]);
  });
  it('draws a light ring for dark panels', () => {
    expect(rgbAt(drawIcon('idle', size, true), size, 16, 3)).toEqual([236, 238, 241]);
    expect(rgbAt(drawIcon('idle', size, false), size, 16, 3)).toEqual([40, 44, 52]);
  });
  it('swaps red and blue for Electron\'s bitmap order', () => {
    expect(Array.from(rgbaToBgra(new Uint8Array([1, 2, 3, 4])))).toEqual([3, 2, 1, 4]);
  });
});
