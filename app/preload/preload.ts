/**
 * The preload: exposes `window.vivarium` — one method per contract entry, derived from the
 * contract by createBridge — and nothing else. ipcRenderer never leaves this file; event
 * callbacks receive only the payload, never the IpcRendererEvent (which carries `sender`).
 * Calls resolve to plain `{ok, value} | {ok: false, error}` envelopes because contextBridge
 * strips an Error's code and cause; the renderer rebuilds the VivError (unwrapBridge).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { EVENT_CHANNEL, createBridge } from '../shared/contract-client.js';

const bridge = createBridge({
  invoke: (channel, input) => ipcRenderer.invoke(channel, input),
  listen: (listener) => {
    const onEvent = (_event: IpcRendererEvent, envelope: unknown): void => listener(envelope);
    ipcRenderer.on(EVENT_CHANNEL, onEvent);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, onEvent);
    };
  },
});

contextBridge.exposeInMainWorld('vivarium', bridge);
