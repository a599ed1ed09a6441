/**
 * How a running task's output is read into progress, a status line and (for agents) steps.
 * Terminal output: OSC 9;4 progress and the last line (ProgressParser), from both streams.
 * Claude Code's stream-json: ClaudeStreamParser on stdout only (stderr is a human's log, kept in
 * output.log but not parsed), each event handed to `onStep`.
 */
import { StringDecoder } from 'node:string_decoder';
import type { TaskProgress } from '../../shared/contract-schemas.js';
import { ClaudeStreamParser, type AgentEvent } from '../agents/claude-stream-parser.js';
import { ProgressParser } from './progress-parser.js';

/** Which output stream a chunk came from. */
export type OutputStream = 'stdout' | 'stderr';

/** Reads one task's output as it arrives. */
export interface TaskOutputReader {
  readonly progress: TaskProgress;
  readonly statusLine: string | null;
  /** Takes raw bytes of one stream, in order; returns true when progress or the status line changed. */
  feed(stream: OutputStream, chunk: Buffer): boolean;
  /** The output ended; returns true when progress or the status line changed. */
  end(): boolean;
}

/** Plain terminal output (both streams). */
export class TerminalOutputReader implements TaskOutputReader {
  private readonly parser = new ProgressParser();
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };

  get progress(): TaskProgress {
    return this.parser.progress;
  }
  get statusLine(): string | null {
    return this.parser.statusLine;
  }
  feed(stream: OutputStream, chunk: Buffer): boolean {
    return this.parser.feed(this.decoders[stream].write(chunk));
  }
  end(): boolean {
    return false;
  }
}

/** Claude Code's `--output-format stream-json` on stdout, into steps. */
export class ClaudeStepsReader implements TaskOutputReader {
  private readonly parser = new ClaudeStreamParser();
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly onStep: (step: AgentEvent) => void) {}

  get progress(): TaskProgress {
    return this.parser.progress;
  }
  get statusLine(): string | null {
    return this.parser.statusLine;
  }
  feed(stream: OutputStream, chunk: Buffer): boolean {
    if (stream !== 'stdout') return false;
    return this.deliver(() => this.parser.feed(this.decoder.write(chunk)));
  }
  end(): boolean {
    return this.deliver(() => this.parser.feed(this.decoder.end()).concat(this.parser.end()));
  }

  private deliver(read: () => AgentEvent[]): boolean {
    const before = this.signature();
    for (const e of read()) this.onStep(e);
    return before !== this.signature();
  }
  private signature(): string {
    return `${this.parser.progress.kind}|${this.parser.progress.percent}|${this.parser.statusLine}`;
  }
}
