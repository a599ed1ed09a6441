/**
 * Electron entry point: one instance, locked-down windows served from app://, the core opened
 * on the user's data folder, IPC through the contract, a tray that keeps tasks visible while
 * the window is closed, notifications, and a quit flow that stops tasks and VMs cleanly.
 */
import {
  BrowserWindow, Notification, app, dialog, nativeTheme, protocol, shell, type MessageBoxOptions,
} from 'electron';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Vivarium } from '../core/vivarium.js';
import { EncryptedKeyFile, KEY_FILE } from '../gateway/encrypted-key-file.js';
import { helperProcessFactory } from '../vm/helper-process.js';
import { appResponseHeaders, resolveAppAsset } from './app-protocol.js';
import { IpcHub } from './ipc-main.js';
import { notificationFor } from './notifications.js';
import { QUIT_BUTTONS, decideQuit, decideWindowClose } from './quit-flow.js';
import { helperFileName, resourceDirs } from './resource-paths.js';
import { safeStorageCipher } from './safe-storage-cipher.js';
import { ShellState } from './shell-state.js';
import { AppTray } from './tray.js';
import type { TrayAction } from './tray-model.js';
import { APP_SCHEME, APP_START_URL, guardWebContents, mainWindowOptions } from './window-options.js';

const here = dirname(fileURLToPath(import.meta.url));
const PRELOAD = join(here, '..', 'preload', 'preload.cjs');
const RENDERER_DIR = join(here, '..', 'renderer');

// Tests (npm run test:electron) give each run its own data folder.
if (process.env.VIVARIUM_USER_DATA) app.setPath('userData', process.env.VIVARIUM_USER_DATA);

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void run().catch((e: unknown) => {
    dialog.showErrorBox('Vivarium could not start', e instanceof Error ? e.message : String(e));
    app.exit(1);
  });
}

async function run(): Promise<void> {
  await app.whenReady();
  protocol.handle(APP_SCHEME, async (request) => {
    const r = resolveAppAsset(request.url, RENDERER_DIR);
    if (!r.ok) return new Response(null, { status: r.status });
    try {
      return new Response(await readFile(r.path), { headers: appResponseHeaders(r.mimeType) });
    } catch {
      return new Response(null, { status: 404 });
    }
  });

  const dirs = resourceDirs({ packaged: app.isPackaged, resourcesPath: process.resourcesPath, appPath: app.getAppPath() });
  const helperName = helperFileName(process.platform);
  if (!helperName) throw new Error(`Vivarium does not support ${process.platform}.`);
  // API keys: encrypted by the OS keyring (safeStorage) in userData/api-keys.json; never in the VM.
  const keys = new EncryptedKeyFile(join(app.getPath('userData'), KEY_FILE), safeStorageCipher());
  const core = await Vivarium.open({
    dataDir: app.getPath('userData'),
    helperFactory: helperProcessFactory(join(dirs.helperDir, helperName)),
    guestDir: dirs.guestDir,
    keys,
  });

  const state = new ShellState();
  const workspaces = await core.listWorkspaces();
  state.load(workspaces, (await Promise.all(workspaces.map((w) => core.listTasks(w.id)))).flat());

  const hub = new IpcHub(core, (name, input) => {
    if (name === 'task:cancel' && typeof input === 'object' && input !== null && 'taskId' in input) {
      state.noteUserCancel(String((input as { taskId: unknown }).taskId));
    }
  });
  hub.register();

  let win: BrowserWindow | null = null;
  let quitting = false;
  const windows = (): BrowserWindow[] => (win && !win.isDestroyed() ? [win] : []);

  const showWindow = (): BrowserWindow => {
    if (win && !win.isDestroyed()) {
      if (win.isMinimized()) win.restore();
      win.show();
      win.focus();
      return win;
    }
    const w = new BrowserWindow(mainWindowOptions({ preloadPath: PRELOAD, dark: nativeTheme.shouldUseDarkColors }));
    guardWebContents(w.webContents, (url) => void shell.openExternal(url));
    hub.attach(w, {
      pickFolder: async () => {
        const r = await dialog.showOpenDialog(w, { title: 'Choose a folder to share', properties: ['openDirectory', 'createDirectory'] });
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
    });
    w.once('ready-to-show', () => w.show());
    w.on('close', (event) => {
      if (quitting) return;
      const d = decideWindowClose(state.work(), process.platform, tray !== null);
      if (d === 'hide-to-tray') {
        event.preventDefault();
        w.hide();
      }
    });
    w.on('closed', () => {
      win = null;
      if (!quitting && decideWindowClose(state.work(), process.platform, tray !== null) === 'close-and-quit') app.quit();
    });
    void w.loadURL(APP_START_URL);
    win = w;
    return w;
  };

  /** Raises the window on a workspace (and task); the window shows any waiting prompt itself. */
  const focus = (workspaceId: string, taskId: string | null): void => {
    const w = showWindow();
    const go = (): void => hub.broadcast({ event: 'app:focus', payload: { workspaceId, taskId } }, [w]);
    if (w.webContents.isLoading()) w.webContents.once('did-finish-load', go);
    else go();
  };
  const openTask = (taskId: string): void => {
    const workspaceId = state.workspaceOf(taskId);
    if (workspaceId === null) showWindow();
    else focus(workspaceId, taskId);
  };

  const stopAll = async (): Promise<void> => {
    await core.stopAll('Stopped from the tray.');
  };

  const act = (a: TrayAction): void => {
    switch (a.type) {
      case 'openWindow': showWindow(); break;
      case 'openTask': openTask(a.taskId); break;
      case 'openDecision': {
        const t = state.decisionTarget(a.decisionId);
        if (t) focus(t.workspaceId, t.taskId);
        else showWindow();
        break;
      }
      case 'stopAll': void stopAll(); break;
      case 'quit': app.quit(); break;
    }
  };

  let tray: AppTray | null = null;
  try {
    tray = new AppTray(act, () => nativeTheme.shouldUseDarkColors);
  } catch {
    tray = null; // no system tray (some Linux desktops): closing the window then quits when idle
  }
  const refresh = (): void => tray?.update(state.tray(), windows());
  nativeTheme.on('updated', refresh);

  core.subscribe((e) => {
    const notable = state.apply(e);
    if (e.event === 'task:changed' || e.event.startsWith('workspace:') || e.event.startsWith('egress:prompt')) refresh();
    if (notable && Notification.isSupported()) {
      const spec = notificationFor(notable, win?.isFocused() ?? false);
      if (spec) {
        const n = new Notification({ title: spec.title, body: spec.body, urgency: spec.urgency, silent: spec.urgency === 'normal' });
        n.on('click', () => focus(spec.target.workspaceId, spec.target.taskId));
        n.show();
      }
    }
  });
  refresh();

  app.on('second-instance', () => showWindow());
  app.on('activate', () => showWindow());
  app.on('window-all-closed', () => {
    /* the tray and the dock keep the app; close-and-quit is decided in the window's close handler */
  });

  let stopped = false;
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    const d = decideQuit(state.work());
    const proceed = async (): Promise<void> => {
      quitting = true;
      await core.close().catch(() => undefined);
      tray?.destroy();
      stopped = true;
      app.quit();
    };
    if (d.action === 'quit') {
      void proceed();
      return;
    }
    const opts: MessageBoxOptions = {
      type: 'question', message: d.message, detail: d.detail, buttons: [...QUIT_BUTTONS.labels],
      defaultId: QUIT_BUTTONS.cancel, cancelId: QUIT_BUTTONS.cancel, noLink: true,
    };
    const parent = windows()[0];
    void (parent ? dialog.showMessageBox(parent, opts) : dialog.showMessageBox(opts)).then((r) => {
      if (r.response === QUIT_BUTTONS.quit) void proceed();
    });
  });

  showWindow();
}
