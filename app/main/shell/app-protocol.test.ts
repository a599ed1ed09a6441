import { describe, expect, it } from 'vitest';
import { appResponseHeaders, resolveAppAsset } from './app-protocol.js';

const root = '/opt/vivarium/renderer';

describe('resolveAppAsset', () => {
  it('serves files under the renderer folder with their type', () => {
    expect(resolveAppAsset('app://vivarium/index.html', root)).toEqual({ ok: true, path: `${root}/index.html`, mimeType: 'text/html; charset=utf-8' });
    expect(resolveAppAsset('app://vivarium/', root)).toMatchObject({ ok: true, path: `${root}/index.html` });
    expect(resolveAppAsset('app://vivarium/assets/main-abc.js?x=1#h', root)).toMatchObject({ ok: true, path: `${root}/assets/main-abc.js` });
  });
  it('refuses to leave the folder, however the path is spelled', () => {
    for (const p of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2f..%2fetc/passwd', '/a%5c..%5c..%5cx.js', '/x%00.html']) {
      const r = resolveAppAsset(`app://vivarium${p}`, root);
      if (r.ok) expect(r.path.startsWith(`${root}/`)).toBe(true);
      else expect([403, 404]).toContain(r.status);
    }
    // The URL parser folds dot segments first, so an escape becomes a path inside the root.
    expect(resolveAppAsset('app://vivarium/%2e%2e/%2e%2e/index.html', root)).toMatchObject({ ok: true, path: `${root}/index.html` });
  });
  it('refuses other hosts and schemes', () => {
    expect(resolveAppAsset('app://other/index.html', root)).toEqual({ ok: false, status: 403 });
    expect(resolveAppAsset('file:///etc/passwd', root)).toEqual({ ok: false, status: 403 });
  });
  it('does not serve unknown file types', () => {
    expect(resolveAppAsset('app://vivarium/secret.key', root)).toEqual({ ok: false, status: 404 });
  });
  it('sends the CSP and nosniff with every response', () => {
    const h = appResponseHeaders('text/html');
    expect(h['Content-Security-Policy']).toContain("script-src 'self'");
    expect(h['X-Content-Type-Options']).toBe('nosniff');
  });
});
