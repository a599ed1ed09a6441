/** Small formatting helpers for people: sizes, durations, times. Pure, so they are unit-tested. */

/** "0 bytes", "1 file", "12.4 MB" (decimal units, as file managers show them). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} ${n === 1 ? 'byte' : 'bytes'}`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** "1 file", "1,234 files". */
export function formatCount(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** A duration for lists: "0.4 s", "12 s", "3 min 05 s", "2 h 04 min". */
export function formatDuration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** How long a task has run (or ran); null before it started. */
export function taskDuration(t: { startedAt: number | null; endedAt: number | null }, now: number): number | null {
  if (t.startedAt === null) return null;
  return (t.endedAt ?? now) - t.startedAt;
}

/** "14:03" today, "3 Nov 14:03" otherwise. */
export function formatTime(ms: number, now: number = Date.now()): string {
  const d = new Date(ms);
  const time = TIME_FORMAT.format(d);
  if (new Date(now).toDateString() === d.toDateString()) return time;
  return `${DAY_FORMAT.format(d)} ${time}`;
}

// Made once: a formatter per call (toLocale*String) was the renderer's costliest function while
// task lists re-rendered during an output flood.
const TIME_FORMAT = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
const DAY_FORMAT = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short' });

/** The last path component, for naming a workspace after its folder. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}

/** Keeps the end of a long path, whole components only: "…/projects/site". */
export function shortenPath(path: string, max: number): string {
  if (path.length <= max) return path;
  const parts = path.split('/');
  let out = parts.pop() ?? '';
  while (parts.length > 0 && out.length + (parts[parts.length - 1]?.length ?? 0) + 3 <= max) out = `${parts.pop()}/${out}`;
  return `…/${out}`;
}
