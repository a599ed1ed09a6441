/**
 * Vivarium's icons drawn in code (RGBA pixels), so the tray needs no image files and each
 * state's look is testable: idle is a ring, busy a ring around a dot, attention an amber disc.
 */

export type IconKind = 'idle' | 'busy' | 'attention' | 'app';

type Rgb = readonly [number, number, number];
const INK: Rgb = [40, 44, 52];
const PAPER: Rgb = [236, 238, 241];
const GREEN: Rgb = [46, 160, 103];
const AMBER: Rgb = [230, 150, 20];
const WHITE: Rgb = [255, 255, 255];

/**
 * Draws `kind` at `size`×`size` pixels; returns RGBA bytes, row-major. `onDark` draws the ring
 * light, for dark panels (the shell follows the system theme).
 */
export function drawIcon(kind: IconKind, size: number, onDark = false): Uint8Array {
  const ink = onDark ? PAPER : INK;
  const px = new Uint8Array(size * size * 4);
  const c = (size - 1) / 2;
  const r = size * 0.42;
  const ringWidth = Math.max(1.2, size * 0.11);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c);
      let rgb: Rgb = ink;
      let a = 0;
      if (kind === 'app') {
        // A rounded green square with a white ring and a white dot: "a living thing under glass".
        const box = roundedBoxCoverage(x, y, size, size * 0.22);
        if (box > 0) { rgb = GREEN; a = box; }
        const ring = bandCoverage(d, size * 0.3, size * 0.055);
        const dot = discCoverage(d, size * 0.12);
        const w = Math.max(ring, dot);
        if (w > 0) { rgb = mix(GREEN, WHITE, w); a = Math.max(a, w); }
      } else if (kind === 'attention') {
        a = discCoverage(d, r);
        rgb = AMBER;
      } else {
        a = bandCoverage(d, r - ringWidth / 2, ringWidth / 2);
        if (kind === 'busy') {
          const dot = discCoverage(d, r * 0.45);
          if (dot > a) { a = dot; rgb = GREEN; }
        }
      }
      const i = (y * size + x) * 4;
      px[i] = rgb[0]; px[i + 1] = rgb[1]; px[i + 2] = rgb[2]; px[i + 3] = Math.round(255 * Math.min(1, a));
    }
  }
  return px;
}

/** Electron's createFromBitmap wants BGRA on every platform. */
export function rgbaToBgra(rgba: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    out[i] = rgba[i + 2]!; out[i + 1] = rgba[i + 1]!; out[i + 2] = rgba[i]!; out[i + 3] = rgba[i + 3]!;
  }
  return out;
}

function discCoverage(d: number, radius: number): number {
  return clamp01(radius - d + 0.5);
}
function bandCoverage(d: number, mid: number, half: number): number {
  return clamp01(half - Math.abs(d - mid) + 0.5);
}
function roundedBoxCoverage(x: number, y: number, size: number, corner: number): number {
  const m = size * 0.06;
  const qx = Math.max(m + corner - x, x - (size - 1 - m - corner), 0);
  const qy = Math.max(m + corner - y, y - (size - 1 - m - corner), 0);
  return clamp01(corner - Math.hypot(qx, qy) + 0.5);
}
function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * t)) as unknown as Rgb;
}
function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
