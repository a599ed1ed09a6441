/**
 * One helper process as the VM state machine sees it (HelperPort), and the factory that spawns
 * the platform's helper: qemu-helper on Linux, hcs-helper.exe on Windows, vz-helper on macOS.
 * All three speak native/protocol/PROTOCOL.md, so one implementation over HelperClient serves
 * them; unit tests of the state machine use a scripted HelperPort. Types come from
 * helper-protocol.ts, the only place that declares the protocol.
 */
import { access, constants } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VivError } from '../../shared/errors.js';
import { repoRoot } from '../paths.js';
import { HelperClient } from './helper-client.js';
import type { HelloResult, StartResult, StopParams, StopResult, VmExit, VmSpec } from './helper-protocol.js';

/**
 * How a helper's channel endpoints are named (PROTOCOL.md §5.2 `channelPath`): a unix socket
 * path, or a Windows pipe name `\\.\pipe\…`. It follows the platform the helper runs as, which
 * is not the host's when a Windows helper runs under Wine.
 */
export type EndpointStyle = 'unix-socket' | 'named-pipe';

/** The endpoint style of helpers native to `platform`. */
export function endpointStyleFor(platform: NodeJS.Platform = process.platform): EndpointStyle {
  return platform === 'win32' ? 'named-pipe' : 'unix-socket';
}

/** One running helper process. Every method rejects with a VivError carrying the protocol error code. */
export interface HelperPort {
  /** How this helper names channel endpoints; absent = the host's convention (`endpointStyleFor()`). */
  readonly endpointStyle?: EndpointStyle;
  /** The helper's `hello` answer (features are data; main never branches on the helper's name). */
  hello(): Promise<HelloResult>;
  start(spec: VmSpec): Promise<StartResult>;
  stop(o: StopParams): Promise<StopResult>;
  /** Called once per boot when the VM ends, whatever the cause. */
  onVmExit(listener: (info: VmExit) => void): void;
  /** Called if the helper process itself dies; `detail` holds its stderr tail. */
  onHelperExit(listener: (detail: string) => void): void;
  /** Closes stdin (the helper stops its VM and exits) and waits for the process to end. */
  close(): Promise<void>;
}

/** Spawns a helper process and returns its port. */
export type HelperFactory = () => Promise<HelperPort>;

/** The helper executable's file name on `platform`, or null where Vivarium has no helper. */
export function helperFileName(platform: NodeJS.Platform): string | null {
  switch (platform) {
    case 'linux':
      return 'qemu-helper';
    case 'win32':
      return 'hcs-helper.exe';
    case 'darwin':
      return 'vz-helper';
    default:
      return null;
  }
}

/**
 * The helper of a source checkout: `dist/native/<helperFileName>`. `VIVARIUM_HELPER` overrides it
 * (`VIVARIUM_QEMU_HELPER`, its older name, still does). The packaged app passes its own path.
 */
export function defaultHelperPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const override = env.VIVARIUM_HELPER || env.VIVARIUM_QEMU_HELPER;
  if (override) return resolve(override);
  const name = helperFileName(platform);
  if (!name) throw new VivError('unsupported', `Vivarium has no VM helper for ${platform}.`);
  return join(repoRoot(env), 'dist', 'native', name);
}

/** How to run a helper besides its path. */
export interface HelperProcessOptions {
  /** Arguments (helpers take none; a Windows helper under Wine is `wine` + the exe's path). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** How the helper names endpoints; default: the host's convention. */
  endpointStyle?: EndpointStyle;
  /** Receives each stderr line of the helper. */
  onLog?: (line: string) => void;
}

/** A factory spawning the helper at `path` (default: `defaultHelperPath()`), after checking that it exists. */
export function helperProcessFactory(path: string = defaultHelperPath(), o: HelperProcessOptions = {}): HelperFactory {
  return async () => {
    if (!(await access(path, constants.X_OK).then(() => true, () => false))) {
      throw new VivError('notFound', `The VM helper ${path} is not built. Build it with \`npm run helpers:build\` (bash native/build.sh).`);
    }
    const client = await HelperClient.launch({ command: path, args: o.args, env: o.env, onLog: o.onLog });
    return portOn(client, o.endpointStyle ?? endpointStyleFor());
  };
}

function portOn(client: HelperClient, endpointStyle: EndpointStyle): HelperPort {
  let closing = false;
  return {
    endpointStyle,
    // launch() already did the handshake; its answer is reused.
    hello: async () => client.hello,
    start: (spec) => client.start(spec),
    stop: (o) => client.stop(o),
    onVmExit: (listener) => {
      client.onEvent((e) => {
        if (e.event === 'exit') listener({ reason: e.reason, exitCode: e.exitCode, message: e.message });
      });
    },
    onHelperExit: (listener) => {
      client.onExit((d) => {
        if (!closing) listener(d.stderr.trim().split('\n').slice(-3).join(' | '));
      });
    },
    async close() {
      closing = true;
      // PROTOCOL.md §1: the helper MUST exit within 5 s of stdin EOF; then it is killed.
      await client.close(6000);
    },
  };
}
