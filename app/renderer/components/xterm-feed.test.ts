import { describe, expect, it } from 'vitest';
import { XtermFeed, type FeedClock, type FeedOptions } from './xterm-feed.js';

/** A terminal stand-in that records writes and parses only when the test says so. */
function fakeTerminal() {
  const writes: string[] = [];
  const callbacks: (() => void)[] = [];
  return {
    writes,
    shown: () => writes.join(''),
    write(data: string, cb?: () => void) {
      writes.push(data);
      if (cb) callbacks.push(cb);
    },
    /** xterm finished parsing everything written so far. */
    parse() {
      callbacks.splice(0).forEach((cb) => cb());
    },
  };
}

/** Frames advance only on `frame(ms)`: time moves by `ms`, then the queued frame callbacks run. */
function fakeClock() {
  let t = 0;
  let queued: (() => void)[] = [];
  const clock: FeedClock & { frame(ms?: number): void; waiting(): number; hidden: boolean } = {
    hidden: false,
    framesPaused: () => clock.hidden,
    now: () => t,
    onFrame(cb) {
      queued.push(cb);
      return () => {
        queued = queued.filter((c) => c !== cb);
      };
    },
    frame(ms = 16) {
      t += ms;
      const run = queued;
      queued = [];
      run.forEach((cb) => cb());
    },
    waiting: () => queued.length,
  };
  return clock;
}

const OPTS: FeedOptions = { sliceChars: 4, batchChars: 10, floodChars: 8, floodIntervalMs: 50, maxQueuedChars: null };

describe('XtermFeed', () => {
  it('writes nothing before a frame, then coalesces what was pushed into one batch', () => {
    const term = fakeTerminal();
    const clock = fakeClock();
    const feed = new XtermFeed(term, OPTS, clock);
    feed.push('ab');
    feed.push('c');
    expect(term.writes).toEqual([]);
    clock.frame();
    expect(term.shown()).toBe('abc');
    expect(feed.pending).toBe(0);
  });

  it('cuts a batch into slices of sliceChars and at most batchChars per frame', () => {
    const term = fakeTerminal();
    const clock = fakeClock();
    const feed = new XtermFeed(term, OPTS, clock);
    feed.push('0123456789abcdef');
    clock.frame();
    expect(term.writes).toEqual(['0123', '4567', '89']);
    expect(feed.pending).toBe(6);
  });

  it('waits for the write callback before the next batch (backpressure)', () => {
    const term = fakeTerminal();
    const clock = fakeClock();
    const feed = new XtermFeed(term, { ...OPTS, floodChars: 1000 }, clock);
    feed.push('0123456789abcdef');
    clock.frame();
    clock.frame();
    clock.frame();
    expect(term.shown()).toBe('0123456789');
    term.parse();
    clock.frame();
    expect(term.shown()).toBe('0123456789abcdef');
  });

  it('paces flood batches floodIntervalMs apart, small ones go on the next frame', () => {
    const term = fakeTerminal();
    const clock = fakeClock();
    const feed = new XtermFeed(term, OPTS, clock);
    feed.push('x'.repeat(30));
    clock.frame();
    term.parse();
    expect(term.shown().length).toBe(10);
    clock.frame(16);
    clock.frame(16);
    term.parse();
    expect(term.shown().length).toBe(10); // 32 ms after a flood batch: still waiting
    clock.frame(20);
    term.parse();
    expect(term.shown().length).toBe(20);

    const small = fakeTerminal();
    const clock2 = fakeClock();
    const feed2 = new XtermFeed(small, OPTS, clock2);
    feed2.push('ab');
    clock2.frame();
    small.parse();
    feed2.push('cd');
    clock2.frame(1);
    expect(small.shown()).toBe('abcd');
  });

  it('drops the oldest text at a line end when too far behind, and writes the notice before the rest', () => {
    const term = fakeTerminal();
    const clock = fakeClock();
    const feed = new XtermFeed(term, { ...OPTS, batchChars: 100, maxQueuedChars: 12, dropNotice: (n) => `[${n} dropped]` }, clock);
    feed.push('line1\nline2\n');
    feed.push('line3\nline4\n');
    expect(feed.pending).toBeLessThanOrEqual(12);
    clock.frame();
    expect(term.shown()).toBe('[12 dropped]line3\nline4\n');
  });

  it('adds up drops that happen before the notice is written', () => {
    const term = fakeTerminal();
    const clock = fakeClock();
    const feed = new XtermFeed(term, { ...OPTS, batchChars: 100, maxQueuedChars: 6, dropNotice: (n) => `[${n}]` }, clock);
    feed.push('aa\nbb\ncc\n');
    feed.push('dd\nee\n');
    clock.frame();
    expect(term.shown()).toBe('[9]dd\nee\n');
  });

  it('never drops when maxQueuedChars is null (a PTY)', () => {
    const term = fakeTerminal();
    const clock = fakeClock();
    const feed = new XtermFeed(term, { ...OPTS, batchChars: 1000 }, clock);
    const text = 'y\n'.repeat(400);
    feed.push(text);
    clock.frame();
    expect(term.shown()).toBe(text);
  });

  it('without frames (hidden window), a PTY feed writes at once and a task feed stays bounded', () => {
    const term = fakeTerminal();
    const clock = fakeClock();
    const pty = new XtermFeed(term, { ...OPTS, batchChars: 4 }, clock);
    pty.push('ab');
    clock.hidden = true;
    pty.push('cdefgh\n');
    expect(term.shown()).toBe('abcdefgh\n');
    expect(pty.pending).toBe(0);

    const out = fakeTerminal();
    const task = new XtermFeed(out, { ...OPTS, maxQueuedChars: 6, dropNotice: (n) => `[${n}]` }, clock);
    for (let i = 0; i < 100; i++) task.push('zz\n');
    expect(out.writes).toEqual([]);
    expect(task.pending).toBeLessThanOrEqual(6);
  });

  it('writes nothing more once disposed', () => {
    const term = fakeTerminal();
    const clock = fakeClock();
    const feed = new XtermFeed(term, OPTS, clock);
    feed.push('abc');
    feed.dispose();
    clock.frame();
    feed.push('def');
    clock.frame();
    expect(term.writes).toEqual([]);
    expect(clock.waiting()).toBe(0);
  });
});
