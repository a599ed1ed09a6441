import { describe, expect, it, vi } from 'vitest';
import type { WebContents } from 'electron';
import {
  CONTENT_SECURITY_POLICY, decideWindowOpen, guardWebContents, isAppUrl, mainWindowOptions,
} from './window-options.js';

describe('mainWindowOptions', () => {
  const wp = mainWindowOptions({ preloadPath: '/app/preload.cjs', dark: false }).webPreferences!;
  it('isolates the renderer: context isolation, sandbox, no Node', () => {
    expect(wp.contextIsolation).toBe(true);
    expect(wp.sandbox).toBe(true);
    expect(wp.nodeIntegration).toBe(false);
    expect(wp.nodeIntegrationInWorker).toBe(false);
    expect(wp.nodeIntegrationInSubFrames).toBe(false);
  });
  it('keeps web security on and webviews off', () => {
    expect(wp.webSecurity).toBe(true);
    expect(wp.allowRunningInsecureContent).toBe(false);
    expect(wp.webviewTag).toBe(false);
    expect(wp.experimentalFeatures).toBe(false);
  });
  it('uses the given preload', () => {
    expect(wp.preload).toBe('/app/preload.cjs');
  });
});

describe('CSP', () => {
  it('allows no remote or inline script and no eval', () => {
    const script = CONTENT_SECURITY_POLICY.split('; ').find((d) => d.startsWith('script-src'));
    expect(script).toBe("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
  });
});

describe('navigation', () => {
  it('recognises only our own origin', () => {
    expect(isAppUrl('app://vivarium/index.html')).toBe(true);
    expect(isAppUrl('app://evil/index.html')).toBe(false);
    expect(isAppUrl('file:///etc/passwd')).toBe(false);
    expect(isAppUrl('https://vivarium/')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
  });
  it('denies every new window; web links go to the system browser', () => {
    expect(decideWindowOpen('https://example.com/x')).toEqual({ action: 'deny-and-open-externally', url: 'https://example.com/x' });
    expect(decideWindowOpen('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(decideWindowOpen('javascript:alert(1)')).toEqual({ action: 'deny' });
    expect(decideWindowOpen('app://vivarium/index.html')).toEqual({ action: 'deny' });
  });

  it('guards prevent foreign navigation and deny permissions', () => {
    const handlers = new Map<string, (...a: unknown[]) => void>();
    let openHandler: ((d: { url: string }) => { action: string }) | undefined;
    let permissionHandler: ((wc: unknown, p: string, cb: (ok: boolean) => void) => void) | undefined;
    let permissionCheck: (() => boolean) | undefined;
    const contents = {
      setWindowOpenHandler: (h: typeof openHandler) => { openHandler = h; },
      on: (ev: string, h: (...a: unknown[]) => void) => { handlers.set(ev, h); },
      session: {
        setPermissionRequestHandler: (h: typeof permissionHandler) => { permissionHandler = h; },
        setPermissionCheckHandler: (h: typeof permissionCheck) => { permissionCheck = h; },
      },
    } as unknown as WebContents;
    const opened: string[] = [];
    guardWebContents(contents, (u) => opened.push(u));

    expect(openHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://example.com/']);

    const nav = { preventDefault: vi.fn() };
    handlers.get('will-navigate')!(nav, 'https://attacker.example/');
    expect(nav.preventDefault).toHaveBeenCalledTimes(1);
    const ok = { preventDefault: vi.fn() };
    handlers.get('will-navigate')!(ok, 'app://vivarium/index.html');
    expect(ok.preventDefault).not.toHaveBeenCalled();

    const wv = { preventDefault: vi.fn() };
    handlers.get('will-attach-webview')!(wv);
    expect(wv.preventDefault).toHaveBeenCalled();

    const answers: boolean[] = [];
    permissionHandler!(null, 'media', (b) => answers.push(b));
    expect(answers).toEqual([false]);
    expect(permissionCheck!()).toBe(false);
  });
});
