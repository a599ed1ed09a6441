/**
 * Where the packaged app and a development checkout keep the hypervisor helper and the guest
 * image. Packaged: outside the asar under process.resourcesPath (electron-builder.yml
 * extraResources). Development: the build folders of the repository.
 */
import { join } from 'node:path';

export interface ResourceDirs {
  /** Folder holding the platform's helper executable. */
  helperDir: string;
  /** Folder holding `<arch>/manifest.json` and the guest artifacts. */
  guestDir: string;
}

export interface ResourceContext {
  /** Electron's app.isPackaged. */
  packaged: boolean;
  /** Electron's process.resourcesPath. */
  resourcesPath: string;
  /** Electron's app.getAppPath() (the repository root in development). */
  appPath: string;
}

/** The helper and guest folders for this run. */
export function resourceDirs(ctx: ResourceContext): ResourceDirs {
  if (ctx.packaged) return { helperDir: join(ctx.resourcesPath, 'helpers'), guestDir: join(ctx.resourcesPath, 'guest') };
  return { helperDir: join(ctx.appPath, 'dist', 'native'), guestDir: join(ctx.appPath, 'dist', 'guest') };
}

/** The helper executable's file name on a platform (one mapping, shared with the CLI). */
export { helperFileName } from '../vm/helper-process.js';
