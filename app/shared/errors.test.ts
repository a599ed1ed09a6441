import { describe, expect, it } from 'vitest';
import { VivError, toVivError, errorInfoSchema } from './errors.js';

describe('VivError', () => {
  it('round-trips through its wire shape', () => {
    const e = new VivError('notFound', 'Kernel file /x/vmlinux does not exist', { errno: 2 });
    const info = JSON.parse(JSON.stringify(e.toInfo()));
    expect(errorInfoSchema.parse(info)).toEqual({ code: 'notFound', message: e.message, cause: { errno: 2 } });
    const back = VivError.fromInfo(info);
    expect(back).toBeInstanceOf(VivError);
    expect(back.code).toBe('notFound');
    expect(back.message).toBe(e.message);
  });

  it('never wraps a VivError twice', () => {
    const e = new VivError('timeout', 'Guest did not answer within 15 s');
    expect(toVivError(e)).toBe(e);
  });

  it('keeps errno detail of a Node error as plain data', () => {
    const nodeErr = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', errno: -2, path: '/nope' });
    const v = toVivError(nodeErr);
    expect(v.code).toBe('internal');
    expect(v.toInfo().cause).toMatchObject({ code: 'ENOENT', errno: -2, path: '/nope' });
  });

  it('rejects codes outside the closed set', () => {
    expect(errorInfoSchema.safeParse({ code: 'oops', message: 'x' }).success).toBe(false);
  });
});
