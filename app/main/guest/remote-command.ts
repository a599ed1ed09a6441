/**
 * Shell text sent over SSH exec. The guest runs it with `/bin/sh -c` (busybox ash), so
 * everything user-supplied is single-quoted here; nothing is interpolated unquoted.
 */

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins argv into one shell command line (what `viv run <folder> -- cmd args...` runs). */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** Where a task's shell records its pid in the guest, so a cancel can signal its process tree. */
export function guestPidFile(taskId: string): string {
  // Directly in /tmp, so no `mkdir` process is needed per command (processes cost ms under TCG).
  return `/tmp/.vivarium-task-${taskId.replace(/[^A-Za-z0-9_-]/g, '_')}.pid`;
}

/** Options of `wrapCommand`. */
export interface WrapOptions {
  /** Working directory; the command fails with exit 125 when it cannot be entered. */
  cwd?: string;
  /** Environment variables exported before the command (names `[A-Za-z_][A-Za-z0-9_]*`). */
  env?: Record<string, string>;
  /** Record the shell's pid here (see guestPidFile). */
  pidFile?: string;
  /**
   * Run at most once per token: a second delivery of the same wrapped command exits with
   * ALREADY_STARTED_EXIT and prints ALREADY_STARTED_MARK on stderr instead of running again.
   */
  onceToken?: string;
  /**
   * After the command ends, close stdout/stderr (the client sees EOF) and wait for the client's
   * EOF on stdin before exiting with the command's status. The client then decides when the
   * session process exits (see GuestConnection: dropbear 2022.83 mishandles a child exiting
   * while another channel is being opened). The command's stdin is /dev/null unless `stdin`.
   */
  holdUntilClientEof?: boolean;
  /** Give the command the channel's stdin (only meaningful with holdUntilClientEof). */
  stdin?: boolean;
}

/** Exit status and stderr line of a command whose `onceToken` was already used. */
export const ALREADY_STARTED_EXIT = 254;
export const ALREADY_STARTED_MARK = 'vivarium: this command was already started';

/**
 * Wraps a shell command: records the pid, enters cwd, exports env, then `exec sh -c <command>`
 * so the recorded pid stays the command's root process and the command's own quoting errors
 * stay inside it.
 */
export function wrapCommand(command: string, o: WrapOptions = {}): string {
  const parts: string[] = [];
  if (o.onceToken) {
    if (!/^[A-Za-z0-9_-]{8,80}$/.test(o.onceToken)) throw new Error('onceToken must be 8-80 characters of [A-Za-z0-9_-]');
    // Shell builtins only (noclobber creation is atomic: O_EXCL): every process spawned costs
    // milliseconds under TCG. `true`, not `:`: a failed redirection on a special builtin would
    // end the whole shell (POSIX) instead of taking the `||` branch.
    parts.push(`set -C; { true > /tmp/.vivarium-once-${o.onceToken}; } 2>/dev/null || { echo '${ALREADY_STARTED_MARK}' >&2; exit ${ALREADY_STARTED_EXIT}; }; set +C`);
  }
  if (o.pidFile) parts.push(`echo $$ > ${shellQuote(o.pidFile)}`);
  if (o.cwd) parts.push(`cd ${shellQuote(o.cwd)} || exit 125`);
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`Environment variable name "${k}" is not valid`);
    parts.push(`export ${k}=${shellQuote(v)}`);
  }
  if (o.holdUntilClientEof) {
    // `sh -c`, not a subshell with eval: the command's own $$ must be its own shell.
    parts.push(`/bin/sh -c ${shellQuote(command)}${o.stdin ? '' : ' </dev/null'}`);
    parts.push('s=$?; exec >/dev/null 2>&1; read -r _ || true; exit $s');
  } else {
    parts.push(`exec /bin/sh -c ${shellQuote(command)}`);
  }
  return parts.join('; ');
}

/**
 * Signals the process tree rooted at the pid in `pidFile`. Each process is frozen (SIGSTOP)
 * before its children are visited, so no parent reacts (runs its next command, re-parents a
 * child to PID 1) before the whole tree has the signal; then SIGCONT lets it take effect.
 * Reads parent pids from /proc, since the guest's busybox has no pgrep. `final` removes the pid file.
 */
export function signalTreeCommand(pidFile: string, signal: 'TERM' | 'KILL' | 'INT' | 'HUP', final = false): string {
  const f = shellQuote(pidFile);
  const fn =
    'vt(){ kill -STOP "$1" 2>/dev/null || return 0; for s in /proc/[0-9]*/status; do c=${s#/proc/}; c=${c%/status}; ' +
    '[ "$(sed -n "s/^PPid:[[:space:]]*//p" "$s" 2>/dev/null)" = "$1" ] && vt "$c" "$2"; done; kill -"$2" "$1" 2>/dev/null; kill -CONT "$1" 2>/dev/null; }';
  return `${fn}; p=$(cat ${f} 2>/dev/null) && [ -n "$p" ] && vt "$p" ${signal}${final ? `; rm -f ${f}` : ''}; true`;
}
