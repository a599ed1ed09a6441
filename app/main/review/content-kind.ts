/**
 * Content sniffing for the Changes view: text files get a diff, binary and image files are
 * described. Only a bounded prefix is read (SNIFF_BYTES), so a huge file costs the same.
 */
import type { ContentKind } from './review-types.js';

/** How many leading bytes decide a file's kind. */
export const SNIFF_BYTES = 8192;

/** Image signatures (the window can preview these). */
const IMAGE_MAGIC: readonly { mime: string; bytes: readonly number[]; at?: number }[] = [
  { mime: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { mime: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { mime: 'image/gif', bytes: [0x47, 0x49, 0x46, 0x38] },
  { mime: 'image/webp', bytes: [0x57, 0x45, 0x42, 0x50], at: 8 }, // "RIFF....WEBP"
  { mime: 'image/bmp', bytes: [0x42, 0x4d] },
  { mime: 'image/x-icon', bytes: [0x00, 0x00, 0x01, 0x00] },
  { mime: 'image/tiff', bytes: [0x49, 0x49, 0x2a, 0x00] },
  { mime: 'image/tiff', bytes: [0x4d, 0x4d, 0x00, 0x2a] },
];

/** The image MIME type of a prefix, or null. */
export function imageMime(prefix: Uint8Array): string | null {
  for (const m of IMAGE_MAGIC) {
    const at = m.at ?? 0;
    if (prefix.length < at + m.bytes.length) continue;
    if (m.mime === 'image/webp' && !startsWith(prefix, [0x52, 0x49, 0x46, 0x46], 0)) continue;
    if (startsWith(prefix, m.bytes, at)) return m.mime;
  }
  return null;
}

/**
 * Text, binary or image from a file's first bytes. Text = valid UTF-8 without NUL bytes (a
 * multi-byte character cut by the end of the prefix still counts as text).
 */
export function sniffKind(prefix: Uint8Array, truncated: boolean): ContentKind {
  if (imageMime(prefix)) return 'image';
  if (prefix.includes(0)) return 'binary';
  return isUtf8Prefix(prefix, truncated) ? 'text' : 'binary';
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function isUtf8Prefix(bytes: Uint8Array, truncated: boolean): boolean {
  let end = bytes.length;
  if (truncated) {
    // Drop a partial character at the cut: back up over at most 3 continuation bytes to its lead.
    let i = end - 1;
    while (i >= 0 && i >= end - 4 && (bytes[i]! & 0xc0) === 0x80) i--;
    if (i >= 0 && bytes[i]! >= 0xc0) end = i;
  }
  try {
    decoder.decode(bytes.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

function startsWith(b: Uint8Array, sig: readonly number[], at: number): boolean {
  return sig.every((v, i) => b[at + i] === v);
}
