/**
 * Browser side of the harness bridge: builds `window.vivarium` from the contract (the same
 * createBridge the preload uses) over a WebSocket to the harness server. The token comes in
 * the page URL's fragment (never sent in a request) and is removed from the address bar.
 * Test and development only; never part of the packaged app.
 */
import { createBridge, type VivariumBridge } from '../../app/shared/contract-client.js';

declare global {
  interface Window {
    vivarium?: VivariumBridge;
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

const params = new URLSearchParams(location.hash.slice(1));
const token = params.get('token') ?? '';
history.replaceState(null, '', location.pathname + location.search);

const socket = new WebSocket(`ws://${location.host}/bridge?token=${encodeURIComponent(token)}`);
const opened = new Promise<void>((resolve, reject) => {
  socket.addEventListener('open', () => resolve());
  socket.addEventListener('close', () => reject(new Error('the harness bridge closed')));
});
opened.catch(() => {});
const pending = new Map<number, Pending>();
const listeners = new Set<(envelope: unknown) => void>();
let nextId = 1;

socket.addEventListener('message', (m) => {
  const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown; event?: string; payload?: unknown };
  if (typeof msg.id === 'number') {
    pending.get(msg.id)?.resolve(msg.result);
    pending.delete(msg.id);
  } else if (typeof msg.event === 'string') {
    for (const l of listeners) l({ event: msg.event, payload: msg.payload });
  }
});
socket.addEventListener('close', (e) => {
  for (const p of pending.values()) p.reject(new Error(`the harness bridge closed (code ${e.code})`));
  pending.clear();
});

window.vivarium = createBridge({
  async invoke(channel, input) {
    await opened;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, channel, input }));
    });
  },
  listen(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
});
