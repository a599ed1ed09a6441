/**
 * The single factory for every BrowserWindow's options, and the guards every window gets.
 * Security settings live here and nowhere else, so one unit test covers them all.
 */
import type { BrowserWindowConstructorOptions, WebContents } from 'electron';

/** The custom scheme the renderer is served from (never file://). */
export const APP_SCHEME = 'app';
/** The one origin our windows load. */
export const APP_ORIGIN = `${APP_SCHEME}://vivarium`;
/** The page every window opens. */
export const APP_START_URL = `${APP_ORIGIN}/index.html`;

/**
 * Content-Security-Policy sent with every app:// response. No remote code, no inline script,
 * no eval; styles may be inline because xterm.js sets element styles. Images only from the app
 * itself and data: URLs (icons); nothing may be framed or posted anywhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

export interface WindowOptionsInput {
  /** Absolute path of the bundled preload script (CommonJS: sandboxed preloads cannot be ESM). */
  preloadPath: string;
  /** Background colour before the first paint, matching the system theme to avoid a flash. */
  dark: boolean;
}

/** Options for the main window. MUST keep isolation, sandbox and web security on. */
export function mainWindowOptions(input: WindowOptionsInput): BrowserWindowConstructorOptions {
  return {
    width: 1180,
    height: 760,
    minWidth: 760,
    minHeight: 480,
    title: 'Vivarium',
    show: false,
    backgroundColor: input.dark ? '#1e1f22' : '#f7f7f8',
    webPreferences: {
      preload: input.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
    },
  };
}

/** True when a URL is one of our own pages (scheme and host both match). */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === 'vivarium';
  } catch {
    return false;
  }
}

/** What a window does with an attempt to open or navigate to a URL. */
export type NavigationDecision = { action: 'deny' } | { action: 'deny-and-open-externally'; url: string };

/**
 * Every new-window request is denied. http(s) links the user clicked are handed to the system
 * browser instead (never loaded in our window); every other scheme is dropped.
 */
export function decideWindowOpen(url: string): NavigationDecision {
  try {
    const u = new URL(url);
    if (u.protocol === 'https:' || u.protocol === 'http:') return { action: 'deny-and-open-externally', url: u.toString() };
  } catch {
    /* not a URL: deny */
  }
  return { action: 'deny' };
}

/** Installs the navigation and permission guards on a window's contents. */
export function guardWebContents(contents: WebContents, openExternally: (url: string) => void): void {
  contents.setWindowOpenHandler(({ url }) => {
    const d = decideWindowOpen(url);
    if (d.action === 'deny-and-open-externally') openExternally(d.url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  // Permission requests (camera, notifications from the page, geolocation...) are denied by default.
  contents.session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  contents.session.setPermissionCheckHandler(() => false);
}
