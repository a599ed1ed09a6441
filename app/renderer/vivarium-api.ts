/**
 * The renderer's only way to main: `window.vivarium` (set by the preload, or by the harness
 * shim in tests), wrapped so calls return values and throw VivError.
 */
import { VivError } from '../shared/errors.js';
import { unwrapBridge, type VivariumApi, type VivariumBridge } from '../shared/contract-client.js';

declare global {
  interface Window {
    vivarium?: VivariumBridge;
  }
}

let cached: VivariumApi | null = null;

/** The window API. Throws when the page was opened without a preload or harness bridge. */
export function vivariumApi(): VivariumApi {
  if (cached) return cached;
  const bridge = typeof window === 'undefined' ? undefined : window.vivarium;
  if (!bridge) throw new VivError('internal', 'This page was opened outside Vivarium: the app bridge is missing');
  cached = unwrapBridge(bridge);
  return cached;
}

export type { VivariumApi };
