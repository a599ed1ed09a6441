import { describe, expect, it } from 'vitest';
import { isTrustedSender } from './trusted-sender.js';

const ours = new Set([3]);
describe('isTrustedSender', () => {
  it('accepts the main frame of our window on our origin', () => {
    expect(isTrustedSender({ webContentsId: 3, frameUrl: 'app://vivarium/index.html', isMainFrame: true }, ours)).toBe(true);
  });
  it('refuses a foreign frame inside our window', () => {
    expect(isTrustedSender({ webContentsId: 3, frameUrl: 'app://vivarium/index.html', isMainFrame: false }, ours)).toBe(false);
    expect(isTrustedSender({ webContentsId: 3, frameUrl: 'https://attacker.example/', isMainFrame: true }, ours)).toBe(false);
  });
  it('refuses a window we did not create, and a frame that is gone', () => {
    expect(isTrustedSender({ webContentsId: 9, frameUrl: 'app://vivarium/index.html', isMainFrame: true }, ours)).toBe(false);
    expect(isTrustedSender({ webContentsId: 3, frameUrl: null, isMainFrame: true }, ours)).toBe(false);
    expect(isTrustedSender({ webContentsId: 3, frameUrl: 'file:///app/index.html', isMainFrame: true }, ours)).toBe(false);
  });
});
