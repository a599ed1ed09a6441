/**
 * Paced writing into an xterm.js terminal. Text pushed here is queued and handed to the
 * terminal on animation frames, one write batch at a time: the next batch waits for xterm's
 * write callback (it has parsed the previous one — backpressure) and, after a large batch, for
 * `floodIntervalMs` — so a flood of output repaints the terminal at most 1000/floodIntervalMs
 * times a second (and the core's 100 ms chunks arrive as one repaint each) instead of on every
 * frame while xterm works through its write slices. Each repaint of a scrolling terminal lays
 * out, paints and rasterises the whole viewport, on a machine whose cores the VM already
 * contends for. Small writes (typing echo) go out on the next frame.
 *
 * When the queue holds more than `maxQueuedChars` (the terminal fell that far behind), the
 * oldest text is dropped at a line boundary and replaced by the caller's notice.
 */

/** The part of xterm's Terminal the feed uses. */
export interface FeedTarget {
  write(data: string, callback?: () => void): void;
}

/** Frame scheduling (requestAnimationFrame in the window; fakes in tests). */
export interface FeedClock {
  now(): number;
  /** Runs `cb` on the next frame; returns a canceller. */
  onFrame(cb: () => void): () => void;
  /** True while no frames come (hidden window: Chromium stops animation frames). */
  framesPaused(): boolean;
}

export interface FeedOptions {
  /** Most UTF-16 units handed to xterm per write call: xterm yields to the frame only between calls. */
  sliceChars: number;
  /** Most UTF-16 units per batch (one batch per frame at most). */
  batchChars: number;
  /** A batch at least this large counts as a flood: the next one waits `floodIntervalMs`. */
  floodChars: number;
  /** Least milliseconds from one flood batch to the next. */
  floodIntervalMs: number;
  /** Queue bound; beyond it the oldest text is dropped. null: never drop (a PTY must see every byte). */
  maxQueuedChars: number | null;
  /** The text written in place of dropped text (given how many UTF-16 units went). */
  dropNotice?: (droppedChars: number) => string;
}

/**
 * Defaults for a task's output view: at most 20 repaints a second in a flood; the queue holds
 * about 1.5 s of the core's fastest stream (64 KB per 100 ms) before the view skips ahead.
 */
export const TASK_OUTPUT_FEED: FeedOptions = {
  sliceChars: 4096,
  batchChars: 64 * 1024,
  floodChars: 8 * 1024,
  floodIntervalMs: 50,
  maxQueuedChars: 1024 * 1024,
};

/** Defaults for an interactive PTY: nothing dropped (see push), floods paced like task output. */
export const PTY_FEED: FeedOptions = { ...TASK_OUTPUT_FEED, maxQueuedChars: null };

/** The browser's clock: performance.now and requestAnimationFrame. */
export const animationFrameClock: FeedClock = {
  now: () => performance.now(),
  onFrame(cb) {
    const id = requestAnimationFrame(() => cb());
    return () => cancelAnimationFrame(id);
  },
  framesPaused: () => document.visibilityState === 'hidden',
};

/** A paced writer for one terminal. MUST be disposed with the terminal. */
export class XtermFeed {
  private queue: string[] = [];
  private queued = 0;
  private writing = false;
  private cancelFrame: (() => void) | null = null;
  private nextAt = 0;
  private disposed = false;
  /** Units dropped since the last notice; the notice goes out with the next batch. */
  private dropped = 0;

  constructor(
    private readonly target: FeedTarget,
    private readonly opts: FeedOptions,
    private readonly clock: FeedClock = animationFrameClock,
  ) {}

  /** Queues text for the terminal (in order). */
  push(text: string): void {
    if (this.disposed || text.length === 0) return;
    this.queue.push(text);
    this.queued += text.length;
    if (this.opts.maxQueuedChars === null) {
      // Nothing may be dropped, so nothing may pile up here while the window is hidden: hand it
      // all to xterm, which keeps parsing (and holds the rest) without frames.
      if (this.clock.framesPaused()) return this.writeAllNow();
    } else if (this.queued > this.opts.maxQueuedChars) {
      this.dropOldest(this.opts.maxQueuedChars);
    }
    this.schedule();
  }

  /** UTF-16 units waiting (not yet handed to xterm). */
  get pending(): number {
    return this.queued;
  }

  /** Stops writing; queued text is discarded. */
  dispose(): void {
    this.disposed = true;
    this.cancelFrame?.();
    this.cancelFrame = null;
    this.queue = [];
    this.queued = 0;
  }

  private schedule(): void {
    if (this.writing || this.cancelFrame || (this.queued === 0 && this.dropped === 0) || this.disposed) return;
    this.cancelFrame = this.clock.onFrame(() => this.frame());
  }

  private frame(): void {
    this.cancelFrame = null;
    if (this.disposed || this.writing || (this.queued === 0 && this.dropped === 0)) return;
    const now = this.clock.now();
    if (now < this.nextAt) {
      this.cancelFrame = this.clock.onFrame(() => this.frame());
      return;
    }
    let batch = this.take(this.opts.batchChars);
    if (this.dropped > 0) {
      batch = (this.opts.dropNotice?.(this.dropped) ?? '') + batch;
      this.dropped = 0;
    }
    if (batch.length === 0) return;
    this.nextAt = batch.length >= this.opts.floodChars ? now + this.opts.floodIntervalMs : 0;
    this.writing = true;
    const last = Math.ceil(batch.length / this.opts.sliceChars) - 1;
    for (let i = 0; i <= last; i++) {
      const slice = batch.slice(i * this.opts.sliceChars, (i + 1) * this.opts.sliceChars);
      this.target.write(slice, i === last ? () => this.written() : undefined);
    }
  }

  /** Writes everything queued at once, in slices, without waiting for frames. */
  private writeAllNow(): void {
    const all = this.take(this.queued);
    for (let i = 0; i < all.length; i += this.opts.sliceChars) this.target.write(all.slice(i, i + this.opts.sliceChars));
  }

  private written(): void {
    this.writing = false;
    this.schedule();
  }

  /** Removes and returns up to `n` UTF-16 units from the head of the queue. */
  private take(n: number): string {
    const parts: string[] = [];
    let got = 0;
    while (got < n && this.queue.length > 0) {
      const head = this.queue[0]!;
      if (got + head.length <= n) {
        parts.push(head);
        got += head.length;
        this.queue.shift();
      } else {
        // xterm's parser is streaming: a cut inside an escape sequence or a surrogate pair is fine.
        parts.push(head.slice(0, n - got));
        this.queue[0] = head.slice(n - got);
        got = n;
      }
    }
    this.queued -= got;
    return parts.join('');
  }

  /** Drops the oldest text so that at most `keep` units stay, cutting just after a line end. */
  private dropOldest(keep: number): void {
    const all = this.queue.join('');
    let start = all.length - keep;
    const nl = all.indexOf('\n', start - 1); // the cut lands at the start of a line
    start = nl === -1 ? all.length : nl + 1;
    this.queue = start < all.length ? [all.slice(start)] : [];
    this.queued = all.length - start;
    this.dropped += start;
  }
}
