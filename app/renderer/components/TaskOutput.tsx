/**
 * A task's output: the stored log first, then live `task:output` chunks. Chunks carry their
 * byte offset in the log, so anything already written (the backlog raced the live stream) is
 * dropped or trimmed instead of being shown twice.
 */
import { memo, useCallback, useState } from 'react';
import type { Terminal } from '@xterm/xterm';
import type { TaskOutputChunk } from '../../shared/contract-schemas.js';
import { vivariumApi } from '../vivarium-api.js';
import { XtermView } from './XtermView.js';
import { TASK_OUTPUT_FEED, XtermFeed } from './xterm-feed.js';

/** Bytes of the log loaded when a task is opened; older output is reachable in the log file. */
const BACKLOG_BYTES = 4 * 1024 * 1024;
/**
 * xterm.js time-slices its parsing between write() calls, never inside one: handing it a 64 KB
 * chunk of coloured lines in one call can stall a frame for ~100 ms on a slow machine. The
 * backlog goes in slices of this many UTF-16 units so it can yield (its parser is streaming, so
 * a slice may cut an escape sequence or a surrogate pair); live output goes through XtermFeed.
 */
const WRITE_SLICE = 4096;
/** Written where the view dropped output it could not keep up with (CAN ends any open sequence). */
const feedDropNotice = (chars: number): string =>
  `\x18\x1b[0m\r\n\x1b[2m… ${chars} characters not shown (output faster than the view; the full log is kept) …\x1b[0m\r\n`;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Writes chunks in log order, skipping bytes before `next`. A chunk that starts after `next`
 * means the core dropped output it could not send in time (it stays in the log): a dim marker
 * says so. Exported for unit tests.
 */
export function makeOffsetWriter(write: (data: string) => void) {
  let next = 0;
  return {
    /** Sets where the shown log ends (after the backlog). */
    setNext(n: number) {
      next = n;
    },
    write(chunk: Pick<TaskOutputChunk, 'offset' | 'data'>) {
      const bytes = encoder.encode(chunk.data);
      const end = chunk.offset + bytes.length;
      if (end <= next) return;
      if (chunk.offset > next) write(`\r\n\x1b[2m… ${chunk.offset - next} bytes not shown (fast output; the full log is kept) …\x1b[0m\r\n`);
      if (chunk.offset >= next) write(chunk.data);
      else write(decoder.decode(bytes.subarray(next - chunk.offset)));
      next = end;
    },
  };
}

/**
 * `ended`: the task will print nothing more (changes the empty-output note). Memoised: the task
 * detail re-renders on every snapshot (status line, progress), the output view only when its
 * props change.
 */
export const TaskOutput = memo(function TaskOutput({ taskId, ended }: { taskId: string; ended: boolean }) {
  const [empty, setEmpty] = useState(true);
  const onReady = useCallback(
    (term: Terminal) => {
      const api = vivariumApi();
      let pending: TaskOutputChunk[] | null = [];
      let closed = false;
      let wrote = false;
      const feed = new XtermFeed(term, { ...TASK_OUTPUT_FEED, dropNotice: feedDropNotice });
      // The backlog is written at once (never dropped); live chunks after it go through the feed.
      let live = false;
      const writer = makeOffsetWriter((d) => {
        if (live) feed.push(d);
        else for (let i = 0; i < d.length; i += WRITE_SLICE) term.write(d.slice(i, i + WRITE_SLICE));
        if (!wrote && d.length > 0) {
          wrote = true;
          setEmpty(false);
        }
      });
      const off = api.on('task:output', (c) => {
        if (c.taskId !== taskId) return;
        if (pending) pending.push(c);
        else writer.write(c);
      });
      api.task
        .output({ taskId, offset: 0, maxBytes: BACKLOG_BYTES })
        .then((r) => {
          if (closed) return;
          if (r.truncated) term.write('\x1b[2m… earlier output not shown (it is in the task log) …\x1b[0m\r\n');
          writer.setNext(r.offset);
          writer.write(r);
        })
        .catch((e: unknown) => {
          if (!closed) term.write(`\x1b[31mCould not load the output: ${e instanceof Error ? e.message : String(e)}\x1b[0m\r\n`);
        })
        .finally(() => {
          const queued = pending ?? [];
          pending = null;
          live = true;
          for (const c of queued) writer.write(c);
        });
      return () => {
        closed = true;
        off();
        feed.dispose();
      };
    },
    [taskId],
  );
  return (
    <div className="output-wrap">
      <XtermView key={taskId} label="Task output" interactive={false} onReady={onReady} testId="task-output" />
      {empty && <div className="output-empty">{ended ? 'No output.' : 'No output yet.'}</div>}
    </div>
  );
});
