/**
 * Parses the `viv` command line. Pure: no I/O, so every form and every mistake is unit-tested.
 * Mistakes throw a VivError('invalidArgument') whose message says what was wrong and shows usage.
 */
import { VivError } from '../shared/errors.js';

/** One parsed invocation. */
export type VivCommand =
  | { kind: 'run'; folder: string; readOnly: boolean; argv: string[]; allow: string[]; cpus?: number; memoryMiB?: number; profile?: string }
  | { kind: 'shell'; folder: string; readOnly: boolean; allow: string[]; cpus?: number; memoryMiB?: number }
  | { kind: 'doctor' }
  | { kind: 'image-build'; arch?: 'x86_64' | 'arm64' }
  | { kind: 'help' }
  | { kind: 'version' };

/** The usage text. */
export const USAGE = `Usage:
  viv run [--ro] [--cpus N] [--memory MiB] [--allow HOST[:PORT]]... <folder> -- <command> [args...]
        Boots a VM that sees only <folder> (read-write unless --ro) at /workspace, runs the
        command there, streams its output and exits with its exit code. The VM has no network
        unless --allow names hosts (api.example.com, *.example.org, optional :port); those are
        reached through Vivarium's proxy (HTTP_PROXY), every other host is refused.
  viv run --profile <claude-code|codex|shell> [options] [<folder>] [--] <prompt...>
        Runs an agent on the prompt as a task in the VM (the standard image), printing its
        steps; <folder> defaults to the current directory. The agent reaches its API only
        through Vivarium's gateway, which adds your key from ANTHROPIC_API_KEY / OPENAI_API_KEY
        on the host: the key never enters the VM.
  viv shell [--ro] [--cpus N] [--memory MiB] [--allow HOST[:PORT]]... <folder>
        An interactive shell in such a VM.
  viv doctor          Checks the hypervisor, the helper and the guest image, and boots a VM.
  viv image build [--arch x86_64|arm64]
                      Builds (or verifies) the guest image.
Exit status: the command's own, or 2 when Vivarium itself fails (the message names the cause).`;

function bad(message: string): never {
  throw new VivError('invalidArgument', `${message}\n\n${USAGE}`);
}

function intOption(name: string, value: string | undefined, min: number, max: number): number {
  if (value === undefined) bad(`${name} needs a value`);
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) bad(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/** Parses argv (without node and the script). */
export function parseVivArgs(args: readonly string[]): VivCommand {
  const [verb, ...rest] = args;
  switch (verb) {
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      return { kind: 'help' };
    case '--version':
    case '-V':
      return { kind: 'version' };
    case 'doctor':
      if (rest.length) bad(`viv doctor takes no arguments (got "${rest[0]}")`);
      return { kind: 'doctor' };
    case 'image': {
      if (rest[0] !== 'build') bad(rest[0] ? `Unknown image command "${rest[0]}"` : 'viv image needs a command: build');
      const o = rest.slice(1);
      if (o.length === 0) return { kind: 'image-build' };
      if (o[0] === '--arch' && (o[1] === 'x86_64' || o[1] === 'arm64') && o.length === 2) return { kind: 'image-build', arch: o[1] };
      return bad(`viv image build takes only --arch x86_64|arm64 (got "${o.join(' ')}")`);
    }
    case 'run':
    case 'shell':
      return parseVmVerb(verb, rest);
    default:
      return bad(`Unknown command "${verb}"`);
  }
}

/**
 * `viv run --profile P [folder] [--] prompt...`: with `--`, the words before it are the folder
 * (default: the current directory) and the words after it the prompt; without it, one word is
 * the prompt and two are folder and prompt.
 */
function profileRun(
  profile: string,
  folderBefore: string | undefined,
  words: string[],
  afterDash: string[],
  sawDash: boolean,
  o: { readOnly: boolean; allow: string[]; cpus?: number; memoryMiB?: number },
): VivCommand {
  const before = folderBefore === undefined ? words : [folderBefore, ...words];
  let folder: string;
  let prompt: string[];
  if (sawDash) {
    if (before.length > 1) bad(`viv run --profile takes one folder before "--" (got "${before.join('" "')}")`);
    folder = before[0] ?? '.';
    prompt = afterDash;
  } else if (before.length === 1) {
    folder = '.';
    prompt = before;
  } else if (before.length === 2) {
    folder = before[0]!;
    prompt = [before[1]!];
  } else {
    return bad(before.length === 0 ? `viv run --profile ${profile} needs a prompt` : 'Quote the prompt, or put it after "--"');
  }
  if (prompt.join(' ').trim() === '') bad(`viv run --profile ${profile} needs a prompt`);
  const sizing = { ...(o.cpus !== undefined ? { cpus: o.cpus } : {}), ...(o.memoryMiB !== undefined ? { memoryMiB: o.memoryMiB } : {}) };
  return { kind: 'run', folder, readOnly: o.readOnly, argv: [prompt.join(' ')], allow: o.allow, profile, ...sizing };
}

function parseVmVerb(verb: 'run' | 'shell', rest: readonly string[]): VivCommand {
  let readOnly = false;
  let cpus: number | undefined;
  let memoryMiB: number | undefined;
  let folder: string | undefined;
  let profile: string | undefined;
  const positionals: string[] = [];
  const allow: string[] = [];
  let i = 0;
  for (; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--') break;
    if (a === '--ro') readOnly = true;
    else if (a === '--rw') readOnly = false;
    else if (a === '--cpus') cpus = intOption('--cpus', rest[++i], 1, 64);
    else if (a === '--memory') memoryMiB = intOption('--memory', rest[++i], 128, 65536);
    else if (a === '--allow') {
      const host = rest[++i];
      if (host === undefined || host === '--') bad('--allow needs a host, e.g. --allow api.example.com or --allow 127.0.0.1:8080');
      allow.push(host);
    } else if (a.startsWith('--allow=')) allow.push(a.slice('--allow='.length));
    else if (verb === 'run' && (a === '--profile' || a.startsWith('--profile='))) {
      profile = a === '--profile' ? rest[++i] : a.slice('--profile='.length);
      if (!profile || profile === '--') bad('--profile needs a profile name: claude-code, codex or shell');
    } else if (a.startsWith('-') && a !== '-') bad(`Unknown option "${a}" for viv ${verb}`);
    else if (profile !== undefined || positionals.length > 0) positionals.push(a);
    else if (folder === undefined) folder = a;
    else if (verb === 'run') positionals.push(a); // an error unless --profile follows
    else bad(`viv shell takes one folder (got "${folder}" and "${a}")`);
  }
  if (profile !== undefined) return profileRun(profile, folder, positionals, rest.slice(i + 1), i < rest.length, { readOnly, allow, cpus, memoryMiB });
  if (positionals.length > 0) bad(`Unexpected "${positionals[0]}": put the command after "--"`);
  if (folder === undefined) bad(`viv ${verb} needs a folder`);
  const sizing = { ...(cpus !== undefined ? { cpus } : {}), ...(memoryMiB !== undefined ? { memoryMiB } : {}) };
  if (verb === 'shell') {
    if (i < rest.length) bad('viv shell takes no command; use viv run for that');
    return { kind: 'shell', folder, readOnly, allow, ...sizing };
  }
  const argv = rest.slice(i + 1);
  if (i >= rest.length || argv.length === 0) bad('viv run needs a command after "--"');
  return { kind: 'run', folder, readOnly, argv, allow, ...sizing };
}
