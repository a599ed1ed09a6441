/**
 * UI benchmark: a task prints 10,000 lines per second for 10 s while its output is on screen;
 * the renderer's frames are measured in Chromium (requestAnimationFrame intervals, plus the
 * Long Animation Frames API). Prints one JSON object. Never gates on time (target: no frame
 * longer than 100 ms). Beside the frames it says who had the cores during the run (cpuMs per
 * process role, runQueueWaitMs: how long our threads were runnable but not running, and the
 * host's CPU pressure share): on a shared 2-core machine a long frame is usually a starved one.
 *
 *   npx tsx bench/ui/ui-bench.ts      (after the renderer build: see bench/ui/run.sh)
 *
 * Where the time goes, for a closer look: VIV_BENCH_TRACE=<file.json> records a Chromium trace of
 * the run (open it in chrome://tracing or Perfetto), VIV_BENCH_PROFILE=<file.cpuprofile> a
 * JavaScript CPU profile of the page (DevTools, Performance panel).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openE2e } from '../../test/e2e/e2e-env.js';
import { BOOT_BUDGET_MS } from '../../test/e2e/pages/workspace-page.js';
import { cpuBetween, sampleCpu, waitBetween } from './process-cpu.js';

const LINES_PER_SECOND = 10_000;
const SECONDS = 10;
const BURSTS = (LINES_PER_SECOND / 1000) * SECONDS;
/**
 * Printed in bursts of 1,000 lines, burst i due at i × 100 ms on the guest's clock (/proc/uptime,
 * centiseconds): the shell sleeps only what is left of each slot, so the rate is 10,000 lines/s
 * unless the guest cannot print that fast (then achievedLinesPerSecond says so).
 */
const COMMAND =
  `read u _ </proc/uptime; t0=\${u%.*}\${u#*.}; i=0; while [ $i -lt ${BURSTS} ]; do ` +
  `awk -v b=$i 'BEGIN { for (j = 0; j < 1000; j++) printf "\\033[32mline %d.%03d\\033[0m the quick brown fox jumps over the lazy dog 0123456789\\n", b, j }'; ` +
  `i=$((i+1)); read u _ </proc/uptime; w=$((t0 + i * 10 - \${u%.*}\${u#*.})); ` +
  `if [ $w -gt 0 ]; then sleep $((w / 100)).$((w % 100 / 10))$((w % 10)); fi; done`;

/*
 * In-page probes, passed as source text: tsx compiles functions with helpers (`__name`) that
 * do not exist in the page, so functions cannot be handed to page.evaluate from here.
 */
const START_FRAME_PROBE = `(() => {
  const b = (window.__bench = { intervals: [], loaf: [], running: true });
  let last = performance.now();
  const tick = (t) => { b.intervals.push(t - last); last = t; if (b.running) requestAnimationFrame(tick); };
  requestAnimationFrame((t) => { last = t; requestAnimationFrame(tick); });
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) {
      b.loaf.push(e.duration);
      if (!b.worst || e.duration > b.worst.duration) b.worst = {
        duration: Math.round(e.duration), blocking: Math.round(e.blockingDuration),
        render: Math.round(e.startTime + e.duration - e.renderStart),
        layout: Math.round(e.startTime + e.duration - e.styleAndLayoutStart),
        scripts: e.scripts.map((s) => [s.invoker, Math.round(s.duration), s.sourceFunctionName, Math.round(s.forcedStyleAndLayoutDuration)]),
      };
    } })
      .observe({ type: 'long-animation-frame', buffered: false });
  } catch { /* API missing: the figure stays 0 */ }
})()`;

/** Dropped frames: each interval longer than one 60 Hz frame counts the frames it skipped. */
const STOP_FRAME_PROBE = `(() => {
  const b = window.__bench;
  b.running = false;
  const budget = 1000 / 60;
  const dropped = b.intervals.reduce((n, d) => n + Math.max(0, Math.round(d / budget) - 1), 0);
  const expected = b.intervals.reduce((n, d) => n + Math.max(1, Math.round(d / budget)), 0);
  return {
    frames: b.intervals.length,
    longestFrameMs: Math.round(Math.max(0, ...b.intervals) * 10) / 10,
    p99FrameMs: Math.round(([...b.intervals].sort((x, y) => x - y)[Math.floor(b.intervals.length * 0.99)] ?? 0) * 10) / 10,
    framesOver100Ms: b.intervals.filter((d) => d > 100).length,
    droppedFrameShare: expected === 0 ? 0 : Math.round((dropped / expected) * 1000) / 1000,
    longAnimationFrames: b.loaf.length,
    longestAnimationFrameMs: Math.round(Math.max(0, ...b.loaf) * 10) / 10,
    worstAnimationFrame: b.worst ?? null,
  };
})()`;

/** Chromium trace categories for VIV_BENCH_TRACE: tasks with thread CPU time, frames, raster. */
const TRACE_CATEGORIES = [
  'toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame',
  'blink', 'cc', 'viz', 'gpu', 'v8', 'benchmark', 'loading',
];

interface FrameFigures {
  frames: number;
  longestFrameMs: number;
  p99FrameMs: number;
  framesOver100Ms: number;
  droppedFrameShare: number;
  longAnimationFrames: number;
  longestAnimationFrameMs: number;
  /** Where the longest animation frame spent its time (script invokers, render, layout). */
  worstAnimationFrame: unknown;
}

async function main(): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'viv-bench-ui-'));
  await writeFile(join(folder, 'README'), 'ui bench\n');
  const env = await openE2e();
  try {
    const dialog = await env.app.newWorkspace();
    await dialog.check(folder);
    await dialog.share();
    const ws = env.app.workspace();
    await ws.waitForVm('running', BOOT_BUDGET_MS);

    await env.page.evaluate(START_FRAME_PROBE);
    const cdp = await env.context.newCDPSession(env.page);
    await cdp.send('Performance.enable');
    const metrics = async (): Promise<Record<string, number>> =>
      Object.fromEntries(((await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] }).metrics.map((m) => [m.name, m.value]));
    const m0 = await metrics();
    const tracePath = process.env.VIV_BENCH_TRACE;
    if (tracePath) await env.browser.startTracing(env.page, { path: tracePath, categories: TRACE_CATEGORIES });
    const profilePath = process.env.VIV_BENCH_PROFILE;
    if (profilePath) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    const cpu0 = await sampleCpu();
    const t0 = Date.now();
    await ws.runTask(COMMAND);
    await ws.waitForTaskState(/Succeeded|Failed/, 300_000);
    const wallS = (Date.now() - t0) / 1000;
    const cpu1 = await sampleCpu();
    const cpuMs = cpuBetween(cpu0, cpu1, wallS * 1000);
    const runQueueWaitMs = waitBetween(cpu0, cpu1);
    if (tracePath) await env.browser.stopTracing();
    if (profilePath) await writeFile(profilePath, JSON.stringify((await cdp.send('Profiler.stop')).profile));
    const m1 = await metrics();
    const busy = (k: string): number => Math.round(((m1[k] ?? 0) - (m0[k] ?? 0)) * 1000);
    const frames = (await env.page.evaluate(STOP_FRAME_PROBE)) as FrameFigures;
    const state = await ws.taskState.innerText();
    const wsId = (await env.core.vivarium.listWorkspaces())[0]!.id;
    const task = (await env.core.vivarium.listTasks(wsId)).find((t) => t.command === COMMAND);
    const taskSeconds = task?.startedAt && task.endedAt ? (task.endedAt - task.startedAt) / 1000 : null;
    const tail = await ws.terminalText(ws.taskOutput);
    console.log(JSON.stringify({
      bench: 'ui-task-output',
      target: { linesPerSecond: LINES_PER_SECOND, seconds: SECONDS, maxFrameMs: 100 },
      taskState: state,
      taskReason: task?.reason ?? null,
      lastLineShown: tail.trim().split('\n').pop()?.trim() ?? null,
      wallSeconds: Math.round(wallS * 10) / 10,
      taskSeconds,
      linesPrinted: LINES_PER_SECOND * SECONDS,
      achievedLinesPerSecond: taskSeconds ? Math.round((LINES_PER_SECOND * SECONDS) / taskSeconds) : null,
      // The renderer's main thread: how much of the run it was busy, and on what (CDP metrics).
      rendererBusyMs: { task: busy('TaskDuration'), script: busy('ScriptDuration'), layout: busy('LayoutDuration'), style: busy('RecalcStyleDuration') },
      rendererBusyShare: Math.round((busy('TaskDuration') / (wallS * 1000)) * 1000) / 1000,
      hostLoadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
      // QEMU's nice (qemu-helper: default 10, in its own autogroup); 0 shows the frames without it.
      vmNice: process.env.VIVARIUM_VM_NICE ?? 'default (10)',
      // CPU ms per process role over the run: self = core + harness (this process), others = the rest of the host.
      cpuMs,
      // Milliseconds our processes' threads were runnable but waiting for a core (starved, not slow).
      runQueueWaitMs,
      // Share of the run in which some runnable thread on the host waited for a core (Linux PSI).
      cpuPressureShare: Math.round((cpuMs.cpuPressureStallMs ?? 0) / (wallS * 1000) * 100) / 100,
      hostCpus: cpus().length,
      ...frames,
      chromium: env.browser.version(),
      note: 'frames are requestAnimationFrame intervals over the whole run (task start to end); TCG guest; compare runs only at similar cpuPressureShare',
    }, null, 2));
  } finally {
    await env.close();
    await rm(folder, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
