/**
 * Serving the renderer from app://vivarium/… : URL → file resolution (pure, tested) and the
 * response headers. Nothing outside the renderer's build folder can be served.
 */
import { extname, join, normalize, sep } from 'node:path';
import { CONTENT_SECURITY_POLICY } from './window-options.js';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.ico': 'image/x-icon',
};

export type ResolvedAsset = { ok: true; path: string; mimeType: string } | { ok: false; status: 403 | 404 };

/**
 * Maps an app:// request URL to a file under `rootDir`. MUST refuse other hosts, encoded or
 * literal `..` segments, and anything that would leave rootDir; `/` serves index.html.
 */
export function resolveAppAsset(requestUrl: string, rootDir: string): ResolvedAsset {
  let u: URL;
  try {
    u = new URL(requestUrl);
  } catch {
    return { ok: false, status: 404 };
  }
  if (u.protocol !== 'app:' || u.host !== 'vivarium') return { ok: false, status: 403 };
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return { ok: false, status: 404 };
  }
  if (rel.includes('\0') || rel.includes('\\')) return { ok: false, status: 403 };
  if (rel === '/' || rel === '') rel = '/index.html';
  const root = normalize(rootDir + sep);
  const full = normalize(join(root, rel));
  if (!full.startsWith(root)) return { ok: false, status: 403 };
  const mimeType = MIME[extname(full).toLowerCase()];
  if (!mimeType) return { ok: false, status: 404 };
  return { ok: true, path: full, mimeType };
}

/** Headers of every app:// response. */
export function appResponseHeaders(mimeType: string): Record<string, string> {
  return {
    'Content-Type': mimeType,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  };
}
