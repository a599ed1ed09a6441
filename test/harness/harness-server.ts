/**
 * The browser harness (tests and development only; never packaged): serves the built renderer
 * and a WebSocket bridge that implements the window contract against a real core.
 * - Binds 127.0.0.1 only, on a random port.
 * - The bridge requires a random token (constant-time compare) and our own Origin.
 * - Pages get the app's CSP (app/main/shell/window-options.ts), with the bridge's ws: origin
 *   added to connect-src, so a renderer that needs inline script or eval fails here too.
 * Each WebSocket is one ApiSession: its PTYs close when it closes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { WebSocketServer, type WebSocket } from 'ws';
import { createApiSession } from '../../app/main/api/api-session.js';
import type { WindowCore } from '../../app/main/api/window-core.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2', '.json': 'application/json',
};

/**
 * The app's CSP, mirrored because test/tsconfig.json does not reference app/main/shell.
 * e2e's csp check compares it with window-options.ts at run time.
 */
export const APP_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
  "font-src 'self'", "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-src 'none'",
  "frame-ancestors 'none'", "object-src 'none'",
].join('; ');

export interface HarnessOptions {
  core: WindowCore;
  /** The built renderer (dist/renderer). */
  rendererDir: string;
}

/** A running harness. `url` includes the token; `close` ends every session and the server. */
export interface Harness {
  url: string;
  origin: string;
  token: string;
  close(): Promise<void>;
}

/** Bundles the browser shim (contract + zod) once per harness start. */
async function buildShim(): Promise<string> {
  const out = await build({
    entryPoints: [join(here, 'browser-shim.ts')], bundle: true, format: 'iife', platform: 'browser',
    target: 'chrome120', write: false, logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

function tokenMatches(given: string | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Starts the harness on 127.0.0.1 with a fresh random token. */
export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const token = randomBytes(32).toString('base64url');
  const root = resolve(opts.rendererDir);
  const shim = await buildShim();
  const indexHtml = await readFile(join(root, 'index.html'), 'utf8').catch(() => {
    throw new Error(`The renderer is not built: ${join(root, 'index.html')} is missing (run the Vite build first).`);
  });
  // A classic script runs before the deferred module script, so window.vivarium exists first.
  const page = indexHtml.replace('<head>', '<head>\n    <script src="./harness-shim.js"></script>');
  let origin = '';

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer): void => {
    res.writeHead(status, {
      'content-type': type,
      'content-security-policy': APP_CSP.replace("connect-src 'self'", `connect-src 'self' ${origin.replace('http:', 'ws:')}`),
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    });
    res.end(body);
  };
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed');
    const path = decodeURIComponent(new URL(req.url ?? '/', origin).pathname);
    if (path === '/' || path === '/index.html') return send(res, 200, TYPES['.html']!, page);
    if (path === '/harness-shim.js') return send(res, 200, TYPES['.js']!, shim);
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep)) return send(res, 403, 'text/plain', 'forbidden');
    try {
      return send(res, 200, TYPES[extname(file)] ?? 'application/octet-stream', await readFile(file));
    } catch {
      return send(res, 404, 'text/plain', 'not found');
    }
  };

  const server = createServer((req, res) => void serve(req, res));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname !== '/bridge' || !tokenMatches(url.searchParams.get('token'), token) || req.headers.origin !== origin) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  const attach = (ws: WebSocket): void => {
    const session = createApiSession(opts.core, (envelope) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(envelope));
    });
    ws.on('message', (raw) => {
      let msg: { id?: unknown; channel?: unknown; input?: unknown };
      try {
        msg = JSON.parse(String(raw)) as typeof msg;
      } catch {
        return ws.close(1003, 'not JSON');
      }
      if (typeof msg.id !== 'number') return ws.close(1003, 'missing id');
      const id = msg.id;
      void session.dispatch(msg.channel, msg.input).then((result) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, result }));
      });
    });
    ws.on('close', () => session.dispose());
  };

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('harness: no TCP address');
  origin = `http://127.0.0.1:${addr.port}`;
  return {
    url: `${origin}/#token=${token}`,
    origin,
    token,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
