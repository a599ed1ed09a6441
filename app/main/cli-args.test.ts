import { describe, expect, it } from 'vitest';
import { parseVivArgs } from './cli-args.js';

describe('parseVivArgs', () => {
  it('parses run with its command kept verbatim after --', () => {
    expect(parseVivArgs(['run', '/tmp/x', '--', 'sh', '-c', 'echo hi; exit 3'])).toEqual({ kind: 'run', folder: '/tmp/x', readOnly: false, argv: ['sh', '-c', 'echo hi; exit 3'], allow: [] });
    expect(parseVivArgs(['run', '--ro', '--cpus', '1', '--memory', '256', 'dir', '--', 'ls', '--ro'])).toEqual({
      kind: 'run', folder: 'dir', readOnly: true, cpus: 1, memoryMiB: 256, argv: ['ls', '--ro'], allow: [],
    });
    expect(parseVivArgs(['run', '--allow', '127.0.0.1:8080', '--allow=*.example.org', 'dir', '--', 'wget', '--allow'])).toMatchObject({
      allow: ['127.0.0.1:8080', '*.example.org'], argv: ['wget', '--allow'],
    });
  });
  it('parses shell, doctor, image build, help and version', () => {
    expect(parseVivArgs(['shell', '--ro', '.'])).toEqual({ kind: 'shell', folder: '.', readOnly: true, allow: [] });
    expect(parseVivArgs(['doctor'])).toEqual({ kind: 'doctor' });
    expect(parseVivArgs(['image', 'build'])).toEqual({ kind: 'image-build' });
    expect(parseVivArgs(['image', 'build', '--arch', 'arm64'])).toEqual({ kind: 'image-build', arch: 'arm64' });
    expect(parseVivArgs([])).toEqual({ kind: 'help' });
    expect(parseVivArgs(['--version'])).toEqual({ kind: 'version' });
  });
  it('parses agent runs: the prompt alone (folder: here), folder and prompt, or words after --', () => {
    expect(parseVivArgs(['run', '--profile', 'claude-code', 'fix the tests'])).toEqual({ kind: 'run', folder: '.', readOnly: false, argv: ['fix the tests'], allow: [], profile: 'claude-code' });
    expect(parseVivArgs(['run', '--profile=codex', '--memory', '3072', 'proj', 'add a README'])).toEqual({
      kind: 'run', folder: 'proj', readOnly: false, argv: ['add a README'], allow: [], profile: 'codex', memoryMiB: 3072,
    });
    expect(parseVivArgs(['run', 'proj', '--profile', 'claude-code', '--', 'write', 'hello.txt'])).toMatchObject({ folder: 'proj', argv: ['write hello.txt'], profile: 'claude-code' });
    expect(parseVivArgs(['run', '--profile', 'claude-code', '--', '--weird prompt'])).toMatchObject({ folder: '.', argv: ['--weird prompt'] });
    expect(() => parseVivArgs(['run', '--profile', 'claude-code'])).toThrow(/needs a prompt/);
    expect(() => parseVivArgs(['run', '--profile', 'claude-code', 'a', 'b', 'c'])).toThrow(/Quote the prompt/);
    expect(() => parseVivArgs(['run', '--profile'])).toThrow(/--profile needs a profile name/);
    expect(() => parseVivArgs(['shell', '--profile', 'codex', '.'])).toThrow(/Unknown option "--profile"/);
  });

  it('names the mistake', () => {
    expect(() => parseVivArgs(['run', '/tmp/x'])).toThrow(/needs a command after "--"/);
    expect(() => parseVivArgs(['run', '--', 'ls'])).toThrow(/needs a folder/);
    expect(() => parseVivArgs(['run', '/a', 'ls'])).toThrow(/Unexpected "ls": put the command after "--"/);
    expect(() => parseVivArgs(['run', '--rx', '/a', '--', 'ls'])).toThrow(/Unknown option "--rx"/);
    expect(() => parseVivArgs(['run', '--cpus', 'many', '/a', '--', 'ls'])).toThrow(/--cpus must be a whole number/);
    expect(() => parseVivArgs(['shell', '/a', '/b'])).toThrow(/one folder/);
    expect(() => parseVivArgs(['run', '/a', '--allow'])).toThrow(/--allow needs a host/);
    expect(() => parseVivArgs(['frobnicate'])).toThrow(/Unknown command "frobnicate"[\s\S]*Usage:/);
    expect(() => parseVivArgs(['image', 'build', '--arch', 'mips'])).toThrow(/--arch x86_64\|arm64/);
  });
});
