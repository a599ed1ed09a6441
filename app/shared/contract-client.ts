/**
 * The window-side API, derived from the contract by a generic loop (never written per method).
 *
 * Two layers, because Electron's contextBridge copies only an Error's message and stack:
 * - `createBridge(transport)` is what the preload (and the harness shim) puts on
 *   `window.vivarium`: one method per contract entry, `vivarium.task.start(input)`, resolving
 *   to the plain `{ok, value} | {ok: false, error}` envelope; `on(event, cb)` gives callbacks
 *   only the payload. Plain data crosses the bridge intact.
 * - `unwrapBridge(bridge)` is what the renderer uses: the same shape, resolving to the value
 *   and throwing a rebuilt VivError (code, message, cause) on failure.
 */
import { VivError } from './errors.js';
import {
  EVENT_CHANNEL, eventEnvelopeSchema, events, isEventName, methodNames, methods, resultSchema,
  type EventName, type EventPayload, type MethodInput, type MethodName, type MethodOutput, type Result,
} from './contract.js';

type DomainOf<N> = N extends `${infer D}:${string}` ? D : never;
type Domain = DomainOf<MethodName>;
type Args<N extends MethodName> = undefined extends MethodInput<N> ? [input?: MethodInput<N>] : [input: MethodInput<N>];

/** Subscribes to one push event; the callback gets only the payload. Returns the unsubscriber. */
export type Subscribe = <E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) => () => void;

/** `window.vivarium`: envelope-returning methods grouped by domain, plus `on`. */
export type VivariumBridge = {
  readonly [D in Domain]: { readonly [N in MethodName as N extends `${D}:${infer V}` ? V : never]: (...args: Args<N>) => Promise<Result> };
} & { readonly on: Subscribe };

/** The renderer's API: value-returning, VivError-throwing methods grouped by domain, plus `on`. */
export type VivariumApi = {
  readonly [D in Domain]: { readonly [N in MethodName as N extends `${D}:${infer V}` ? V : never]: (...args: Args<N>) => Promise<MethodOutput<N>> };
} & { readonly on: Subscribe };

/** How a bridge reaches main: Electron IPC in the preload, a WebSocket in the harness. */
export interface BridgeTransport {
  /** Sends one call; resolves to the raw result envelope main returned. */
  invoke(channel: MethodName, input: unknown): Promise<unknown>;
  /** Receives every raw event envelope (`{event, payload}`) until the returned function is called. */
  listen(listener: (envelope: unknown) => void): () => void;
}

export { EVENT_CHANNEL };

function split(name: MethodName): [string, string] {
  const i = name.indexOf(':');
  return [name.slice(0, i), name.slice(i + 1)];
}

function groupByDomain<F>(make: (name: MethodName) => F): Record<string, Record<string, F>> {
  const out: Record<string, Record<string, F>> = {};
  for (const name of methodNames) {
    const [domain, verb] = split(name);
    (out[domain] ??= {})[verb] = make(name);
  }
  return out;
}

/**
 * Keeps one transport listener and fans events out by name. Payloads that fail their schema
 * are dropped (main is trusted, but a drifted build must not crash the window).
 */
function makeSubscribe(listen: BridgeTransport['listen']): Subscribe {
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  let listening = false;
  const onEnvelope = (raw: unknown): void => {
    const env = eventEnvelopeSchema.safeParse(raw);
    if (!env.success || !isEventName(env.data.event)) return;
    const set = listeners.get(env.data.event);
    if (!set || set.size === 0) return;
    const payload = events[env.data.event].safeParse(env.data.payload);
    if (!payload.success) return;
    for (const l of [...set]) l(payload.data);
  };
  return (event, listener) => {
    if (!isEventName(event)) throw new VivError('invalidArgument', `Unknown event "${String(event)}"`);
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    const l = listener as (p: unknown) => void;
    set.add(l);
    // One transport listener for the bridge's lifetime (the window's): it is never removed.
    if (!listening) {
      listen(onEnvelope);
      listening = true;
    }
    return () => {
      set.delete(l);
    };
  };
}

/** Builds `window.vivarium` over a transport: one method per contract entry, nothing else. */
export function createBridge(transport: BridgeTransport): VivariumBridge {
  const api = groupByDomain((name) => async (input?: unknown): Promise<Result> => {
    try {
      const raw = await transport.invoke(name, input);
      const env = resultSchema.safeParse(raw);
      if (env.success) return env.data;
      return { ok: false, error: { code: 'internal', message: `Malformed reply from the app core for ${name}` } };
    } catch (e) {
      // Transport failure (bridge closed, IPC torn down): still a plain envelope.
      const message = e instanceof Error ? e.message : String(e);
      return { ok: false, error: { code: 'internal', message: `Lost contact with the app core: ${message}` } };
    }
  });
  return Object.freeze({ ...api, on: makeSubscribe(transport.listen.bind(transport)) }) as unknown as VivariumBridge;
}

/** Wraps a bridge so calls resolve to validated values and failures throw VivError. */
export function unwrapBridge(bridge: VivariumBridge): VivariumApi {
  const b = bridge as unknown as Record<string, Record<string, (input?: unknown) => Promise<Result>>>;
  const api = groupByDomain((name) => async (input?: unknown): Promise<unknown> => {
    const [domain, verb] = split(name);
    const call = b[domain]?.[verb];
    if (!call) throw new VivError('unsupported', `This window's bridge has no method ${name}`);
    const res = await call(input);
    if (!res.ok) throw VivError.fromInfo(res.error);
    const value = methods[name].output.safeParse(res.value);
    if (!value.success) throw new VivError('internal', `The app core sent an unexpected reply to ${name}`, value.error.issues);
    return value.data;
  });
  return Object.freeze({ ...api, on: bridge.on }) as unknown as VivariumApi;
}
