// Writes build/icon.png (the app icon electron-builder packs) from app/main/shell/icon-art.ts,
// and with --preview the tray icons too, for a look. Run: npx tsx scripts/make-icons.ts
import { writeFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { drawIcon, type IconKind } from '../app/main/shell/icon-art.js';

/** Encodes RGBA pixels as a PNG file (8-bit RGBA, no interlace). */
export function encodePng(rgba: Uint8Array, width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync('build/icon.png', encodePng(drawIcon('app', 1024), 1024, 1024));
  if (process.argv.includes('--preview')) {
    for (const k of ['idle', 'busy', 'attention', 'app'] as IconKind[]) writeFileSync(`/tmp/icon-${k}.png`, encodePng(drawIcon(k, 64), 64, 64));
  }
}
