/**
 * An xterm.js terminal that fills its box. Output is written as terminal data (ANSI colours),
 * never as HTML. OSC 8 hyperlinks are shown as text: activating one does nothing, so output
 * from a task cannot open pages. Follows the system's light/dark theme. The terminal opens (and
 * `onReady` runs) in a task of its own after the first frame that shows the view.
 */
import { useEffect, useRef } from 'react';
import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';

const LIGHT: ITheme = {
  background: '#fbfbfc', foreground: '#24292f', cursor: '#24292f', selectionBackground: '#b6d6fd',
  black: '#24292f', red: '#c62828', green: '#1f7a3a', yellow: '#8a6100', blue: '#0a58ca', magenta: '#8e3fbf',
  cyan: '#0b7285', white: '#6e7781', brightBlack: '#57606a', brightRed: '#d32f2f', brightGreen: '#2e8b47',
  brightYellow: '#9a6b00', brightBlue: '#1f6feb', brightMagenta: '#a04fd6', brightCyan: '#0c8599', brightWhite: '#8c959f',
};
const DARK: ITheme = {
  background: '#17181b', foreground: '#d8dade', cursor: '#d8dade', selectionBackground: '#3a4d6b',
  black: '#3b3f45', red: '#f47067', green: '#6bc46d', yellow: '#e0b34e', blue: '#6cb6ff', magenta: '#d2a8ff',
  cyan: '#56d4dd', white: '#c9d1d9', brightBlack: '#6e7681', brightRed: '#ff938a', brightGreen: '#8ddb8c',
  brightYellow: '#f0c86a', brightBlue: '#96d0ff', brightMagenta: '#e2c5ff', brightCyan: '#7ee8f0', brightWhite: '#f0f3f6',
};

export interface XtermViewProps {
  /** Accessible name of the terminal region. */
  label: string;
  /** Whether keystrokes go anywhere (PTY) or the view is output-only (task logs). */
  interactive: boolean;
  /** Called once the terminal is open; the returned function runs before it is disposed. */
  onReady: (term: Terminal) => (() => void) | void;
  testId?: string;
}

export function XtermView({ label, interactive, onReady, testId }: XtermViewProps) {
  const box = useRef<HTMLDivElement>(null);
  // onReady is read once: a new terminal per mount keeps output and PTY wiring simple.
  const ready = useRef(onReady);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // Opening a terminal measures its font (a forced layout of the whole window): done in a task
    // of its own after the next frame, not inside the update that mounted the view (often a push
    // event of a busy stream), so neither makes the other's frame long.
    let dispose: (() => void) | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => {
        dispose = openTerminal(el, interactive, ready.current);
      }, 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      if (timer !== null) clearTimeout(timer);
      dispose?.();
    };
  }, [interactive]);
  return <div className="xterm-box" ref={box} role="region" aria-label={label} data-testid={testId} />;
}

/** Creates the terminal in `el` and wires theme and size; returns its disposer. */
function openTerminal(el: HTMLDivElement, interactive: boolean, onReady: XtermViewProps['onReady']): () => void {
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  const term = new Terminal({
    disableStdin: !interactive,
    cursorBlink: interactive,
    cursorStyle: interactive ? 'block' : 'bar',
    cursorInactiveStyle: interactive ? 'outline' : 'none',
    fontFamily: '"DejaVu Sans Mono", "SF Mono", Menlo, Consolas, monospace',
    fontSize: 12.5,
    lineHeight: 1.15,
    scrollback: 20_000,
    convertEol: !interactive,
    theme: dark.matches ? DARK : LIGHT,
    linkHandler: { activate: () => {}, allowNonHttpProtocols: false },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  const refit = (): void => {
    if (el.clientWidth > 0 && el.clientHeight > 0) fit.fit();
  };
  refit();
  const ro = new ResizeObserver(refit);
  ro.observe(el);
  const onTheme = (): void => {
    term.options.theme = dark.matches ? DARK : LIGHT;
  };
  dark.addEventListener('change', onTheme);
  const cleanup = onReady(term);
  return () => {
    cleanup?.();
    dark.removeEventListener('change', onTheme);
    ro.disconnect();
    term.dispose();
  };
}
