/**
 * Reads a task's terminal output as it streams and keeps two things the task list shows:
 * progress from OSC 9;4 sequences (`ESC ] 9 ; 4 ; state ; percent` ended by BEL or `ESC \`,
 * the Windows Terminal / ConEmu convention) and the last non-empty status line with escape
 * sequences removed. Chunk boundaries may fall anywhere, even inside a sequence. Memory is
 * bounded: partial sequences and lines are capped.
 */
import type { TaskProgress } from '../../shared/contract-schemas.js';

const MAX_OSC = 256;
const MAX_LINE = 512;
const KINDS: Record<string, TaskProgress['kind']> = { '0': 'none', '1': 'normal', '2': 'error', '3': 'indeterminate', '4': 'paused' };

type Mode = 'text' | 'esc' | 'osc' | 'oscEsc' | 'csi';

/** Incremental parser of progress and status line. Feed it decoded text in order. */
export class ProgressParser {
  progress: TaskProgress = { kind: 'none', percent: null };
  statusLine: string | null = null;
  private mode: Mode = 'text';
  private osc = '';
  private line = '';

  /** Consumes one chunk; returns true when progress or the status line changed. */
  feed(text: string): boolean {
    const before = `${this.progress.kind}|${this.progress.percent}|${this.statusLine}`;
    for (const ch of text) this.step(ch);
    return before !== `${this.progress.kind}|${this.progress.percent}|${this.statusLine}`;
  }

  private step(ch: string): void {
    switch (this.mode) {
      case 'text':
        if (ch === '\x1b') this.mode = 'esc';
        else if (ch === '\x9d') this.startOsc();
        else if (ch === '\n') this.endLine();
        else if (ch === '\r') this.line = ''; // a carriage return redraws the line: keep only what follows
        else if (ch >= ' ' || ch === '\t') {
          if (this.line.length < MAX_LINE) this.line += ch;
        }
        return;
      case 'esc':
        if (ch === ']') this.startOsc();
        else if (ch === '[') this.mode = 'csi';
        else this.mode = 'text';
        return;
      case 'csi':
        // CSI parameters and intermediates are 0x20-0x3f; a final byte 0x40-0x7e ends it.
        if (ch >= '@' && ch <= '~') this.mode = 'text';
        return;
      case 'osc':
        if (ch === '\x07' || ch === '\x9c') this.endOsc();
        else if (ch === '\x1b') this.mode = 'oscEsc';
        else if (this.osc.length < MAX_OSC) this.osc += ch;
        return;
      case 'oscEsc':
        if (ch === '\\') this.endOsc();
        else {
          this.mode = 'text';
          this.step(ch);
        }
        return;
    }
  }

  private startOsc(): void {
    this.mode = 'osc';
    this.osc = '';
  }

  private endOsc(): void {
    this.mode = 'text';
    const parts = this.osc.split(';');
    if (parts[0] !== '9' || parts[1] !== '4') return;
    const kind = KINDS[parts[2] ?? ''];
    if (!kind) return;
    const n = Number.parseInt(parts[3] ?? '', 10);
    const percent = kind === 'none' || kind === 'indeterminate' ? null : Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : this.progress.percent;
    this.progress = { kind, percent };
  }

  private endLine(): void {
    const t = this.line.trim();
    if (t) this.statusLine = t;
    this.line = '';
  }
}
