/**
 * Renders the tray model with Electron's Tray and Menu, and the aggregate progress on the
 * dock (macOS) and taskbar (Windows, Linux launchers that support it).
 */
import { Menu, Tray, nativeImage, type BrowserWindow, type MenuItemConstructorOptions, type NativeImage } from 'electron';
import { drawIcon, rgbaToBgra, type IconKind } from './icon-art.js';
import { trayModel, type TrayAction, type TrayState } from './tray-model.js';

const TRAY_PX = 16;

function icon(kind: IconKind, onDark: boolean): NativeImage {
  const img = nativeImage.createEmpty();
  for (const scale of [1, 2]) {
    const px = TRAY_PX * scale;
    img.addRepresentation({ scaleFactor: scale, width: px, height: px, buffer: Buffer.from(rgbaToBgra(drawIcon(kind, px, onDark))) });
  }
  return img;
}

/** The app's tray icon and menu. */
export class AppTray {
  private readonly tray: Tray;
  private lastKey = '';

  constructor(private readonly act: (a: TrayAction) => void, private readonly dark: () => boolean) {
    this.tray = new Tray(icon('idle', dark()));
    this.tray.on('click', () => act({ type: 'openWindow' }));
  }

  /** Re-renders when the model changed; also sets the window's progress bar. */
  update(state: TrayState, windows: readonly BrowserWindow[]): void {
    const m = trayModel(state);
    const key = JSON.stringify(m) + String(this.dark());
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.tray.setImage(icon(m.icon, this.dark()));
    this.tray.setToolTip(m.tooltip);
    const template: MenuItemConstructorOptions[] = m.items.map((i) =>
      i.kind === 'separator' ? { type: 'separator' }
        : i.kind === 'label' ? { label: i.label, enabled: false }
          : { label: i.label, enabled: i.enabled, click: () => this.act(i.action) });
    this.tray.setContextMenu(Menu.buildFromTemplate(template));
    for (const w of windows) {
      if (!w.isDestroyed()) w.setProgressBar(m.progress.value, { mode: m.progress.mode });
    }
  }

  destroy(): void {
    this.tray.destroy();
  }
}
