import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TaskLog, readLogRange, truncationMarker } from './task-log.js';
import { OutputThrottle, completeUtf8Length } from './output-throttle.js';
import type { TaskOutputChunk } from '../../shared/contract-schemas.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-log-'));
});
afterEach(async () => {
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

describe('TaskLog', () => {
  it('keeps output up to the cap, then a visible marker, and counts what it dropped', async () => {
    const path = join(dir, 'output.log');
    const log = await TaskLog.open(path, 10);
    const seen: Buffer[] = [];
    log.on('data', (_o, b) => seen.push(b));
    log.append(Buffer.from('hello '));
    log.append(Buffer.from('world and more'));
    log.append(Buffer.from('ignored'));
    await log.close();
    const text = await readFile(path, 'utf8');
    expect(text).toBe(`hello worl${truncationMarker(10)}`);
    expect(Buffer.concat(seen).toString()).toBe(text);
    expect(log.truncated).toBe(true);
    expect(log.droppedBytes).toBe('d and more'.length + 'ignored'.length);
  });

  it('reads ranges, giving the tail when more than maxBytes follow', async () => {
    const path = join(dir, 'output.log');
    const log = await TaskLog.open(path, 1000);
    log.append(Buffer.from('0123456789'));
    await log.close();
    expect(await readLogRange(path, 2, 100)).toEqual({ offset: 2, data: Buffer.from('23456789'), truncated: false });
    expect(await readLogRange(path, 0, 3)).toEqual({ offset: 7, data: Buffer.from('789'), truncated: true });
    expect(await readLogRange(join(dir, 'none.log'), 0, 3)).toEqual({ offset: 0, data: Buffer.alloc(0), truncated: false });
  });

  it('asks the producer to pause past the high-water mark and drains', async () => {
    const log = await TaskLog.open(join(dir, 'big.log'), 64 * 1024 * 1024);
    let paused = false;
    for (let i = 0; i < 40 && !paused; i++) paused = !log.append(Buffer.alloc(64 * 1024, 97));
    expect(paused).toBe(true);
    await new Promise<void>((r) => log.once('drain', r));
    await log.close();
  });
});

describe('OutputThrottle', () => {
  it('emits at most one chunk per interval and keeps only the newest bytes when flooded', () => {
    vi.useFakeTimers();
    const chunks: TaskOutputChunk[] = [];
    const t = new OutputThrottle('t1', (c) => chunks.push(c), 100, 8);
    let off = 0;
    for (let i = 0; i < 1000; i++) {
      t.push(off, Buffer.from('abcd'));
      off += 4;
      if (i % 100 === 99) vi.advanceTimersByTime(50);
    }
    vi.advanceTimersByTime(200);
    t.flush();
    expect(chunks.length).toBeLessThanOrEqual(6);
    expect(chunks.every((c) => Buffer.byteLength(c.data) <= 8)).toBe(true);
    const last = chunks.at(-1)!;
    expect(last.offset + Buffer.byteLength(last.data)).toBe(4000);
  });

  it('never splits a UTF-8 character across chunks', () => {
    vi.useFakeTimers();
    const chunks: TaskOutputChunk[] = [];
    const t = new OutputThrottle('t1', (c) => chunks.push(c), 10, 1024);
    const euro = Buffer.from('€€');
    t.push(0, euro.subarray(0, 4));
    vi.advanceTimersByTime(20);
    t.push(4, euro.subarray(4));
    vi.advanceTimersByTime(20);
    expect(chunks.map((c) => c.data).join('')).toBe('€€');
    expect(chunks[1]).toEqual({ taskId: 't1', offset: 3, data: '€' });
    expect(completeUtf8Length(Buffer.from([0x61, 0xe2, 0x82]))).toBe(1);
  });
});
