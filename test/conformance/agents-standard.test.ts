/**
 * The standard guest image in a real VM under TCG (issue 10), for each arch whose images are built:
 * the tiny kernel + initramfs with `vivarium.root=standard` and rootfs.ext4 attached as a
 * read-only virtio-blk disk, so guest-image/init lays the tmpfs overlay and switches root into
 * it (guest-image/README.md "Standard root"); commands run in the Debian userland. Then the
 * end-to-end path: real Claude Code in the guest, pointed at the API gateway over the VM's SSH
 * connection, against a local server speaking the Messages API that scripts one Write tool
 * call; the file appears in the host's workspace, the task events show the tool step, and the
 * user's key is nowhere in the guest. Needs `npm run guest:build` and
 * `bash guest-image/standard/build.sh <arch>` first; an arch without them is skipped (with the reason).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentInvocation } from '../../app/main/agents/agent-profiles.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../../app/main/agents/agents-test-kit.js';
import { ClaudeStreamParser, type AgentEvent } from '../../app/main/agents/claude-stream-parser.js';
import { makeTestCertificate } from '../../app/main/egress/egress-test-kit.js';
import { GATEWAY_LOG_FILE, readGatewayLog } from '../../app/main/gateway/gateway-audit.js';
import { GatewaySession } from '../../app/main/gateway/gateway-session.js';
import { StaticKeyStore } from '../../app/main/gateway/key-store.js';
import { GUEST_ARCHES, loadGuestImage, type GuestArch, type GuestImage } from '../../app/main/image/guest-image.js';
import { bootDirect, ownQemuPids, type DirectVm } from '../support/direct-qemu.js';
import { connectWithRetry, type GuestSsh } from '../support/ssh.js';

const ROOT = join(import.meta.dirname, '..', '..');
const USER_KEY = `sk-ant-user-${'k'.repeat(24)}`;
const TASK = 'task-claude-e2e';
const IN_ROOT = '/usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root';

/** Why `arch` cannot run here, or '' when it can; and its tiny image. */
async function prerequisites(arch: GuestArch): Promise<{ why: string; image: GuestImage | null; rootfs: string }> {
  const rootfs = join(ROOT, 'dist', 'guest-standard', arch, 'rootfs.ext4');
  let image: GuestImage | null = null;
  try {
    image = await loadGuestImage(arch);
  } catch (e) {
    return { why: `the tiny ${arch} guest image is not built (${String(e)})`, image, rootfs };
  }
  if (!existsSync(rootfs)) return { why: `${rootfs} is missing (bash guest-image/standard/build.sh ${arch})`, image, rootfs };
  if (process.getuid?.() !== 0) return { why: 'the standard image test runs as root (9p share ownership)', image, rootfs };
  return { why: '', image, rootfs };
}

for (const arch of GUEST_ARCHES) {
  const pre = await prerequisites(arch);
  if (pre.why) console.warn(`agents-standard ${arch}: skipped: ${pre.why}`);
  let work: string;
  let workspace: string;
  let vm: DirectVm | undefined;
  let ssh: GuestSsh | undefined;
  const figures: Record<string, number> = {};

  describe.skipIf(pre.why !== '')(`standard image in a VM (${arch}, TCG)`, () => {
    beforeAll(async () => {
      const image = pre.image!;
      work = mkdtempSync(join(tmpdir(), 'viv-agents-'));
      workspace = join(work, 'workspace');
      mkdirSync(workspace);
      vm = await bootDirect({
        image,
        extraCmdline: ['vivarium.root=standard'],
        share: { hostPath: workspace, readOnly: false },
        memoryMiB: 2048,
        extraArgs: ['-drive', `file=${pre.rootfs},if=none,id=standard,format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=standard'],
      });
      try {
        ssh = await connectWithRetry({ socketPath: vm.sshSocket, privateKey: vm.keys.clientPrivateKey, hostPublicKey: vm.keys.hostPublicKey, timeoutMs: 300_000 });
      } catch (e) {
        throw new Error(`${String(e)}\n--- console ---\n${vm.console().slice(-4000)}`);
      }
      figures.bootToSshMs = Math.round(performance.now() - vm.spawnedAt);
    }, 600_000);

    afterAll(async () => {
      ssh?.close();
      if (vm) {
        await vm.kill();
        expect(ownQemuPids(vm.dir), 'qemu left running').toEqual([]);
        rmSync(vm.dir, { recursive: true, force: true });
      }
      if (work) rmSync(work, { recursive: true, force: true });
      console.log(`agents-standard ${arch} figures: ${JSON.stringify(figures)}`);
    });

    it('runs in the read-only image under a tmpfs overlay, with the agents and tools', async () => {
      const root = await ssh!.exec('stat -f -c %T /; cat /run/vivarium/root-error 2>&1');
      expect(root.stdout).toMatch(/^overlayfs\n.*No such file/);
      const ro = await ssh!.exec('touch /run/vivarium/lower/x');
      expect(ro.code).not.toBe(0); // the image itself stays read-only
      const versions: Record<string, RegExp> = {
        'claude --version': /\(Claude Code\)/,
        'codex --version': /^codex-cli \d/m,
        'git --version': /^git version 2\./,
        'python3 --version': /^Python 3\.11\./,
        'node --version': /^v18\./,
        'rg --version': /^ripgrep \d/,
      };
      for (const [cmd, expected] of Object.entries(versions)) {
        const t = performance.now();
        const r = await ssh!.exec(`${IN_ROOT} ${cmd} 2>&1`);
        expect(r.code, `${cmd}: ${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(expected);
        figures[`${cmd.split(' ')[0]}VersionMs`] = Math.round(performance.now() - t);
      }
      // Writes land in the tmpfs upper layer.
      const w = await ssh!.exec(`${IN_ROOT} sh -c 'echo hi >/etc/viv-test && cat /etc/viv-test' && test -f /run/vivarium/rw/upper/etc/viv-test`);
      expect(w.stdout.trim()).toBe('hi');
      expect(w.code).toBe(0);
    }, 600_000);

    it('runs Claude Code through the gateway: the scripted Write lands on the host and shows as a step; the key stays out', async () => {
      const tls = await makeTestCertificate();
      const api: FakeMessagesApi = await startFakeMessagesApi(tls, { name: 'Write', input: { file_path: '/workspace/hello.txt', content: 'written by claude in the VM\n' } });
      const session = await GatewaySession.start({
        workspaceId: 'ws-agents',
        apis: ['anthropic'],
        keys: new StaticKeyStore({ anthropic: USER_KEY }),
        tasksDir: join(work, 'tasks'),
        vmDir: join(work, 'vm'),
        client: ssh!.client,
        upstreams: { anthropic: { baseUrl: api.baseUrl, ca: tls.cert } },
      });
      try {
        const inv = agentInvocation('claude-code', 'Write hello.txt in the workspace.', session.taskEnvironment(TASK, ['anthropic']));
        // Bun (Claude Code's runtime) crashes with SIGSEGV in its JIT on QEMU's emulated arm64
        // `-cpu max` (fine with -cpu cortex-a72, or with the JIT off); real arm64 CPUs are not affected.
        const tcgWorkaround = arch === 'arm64' ? { BUN_JSC_useJIT: '0' } : {};
        const env = Object.entries({ ...inv.env, ...tcgWorkaround }).map(([k, v]) => `${k}='${v}'`).join(' ');
        const t = performance.now();
        const run = await ssh!.exec(`${IN_ROOT} ${env} sh -c "cd /workspace && ${inv.command.replace(/"/g, '\\"')}"`);
        figures.claudeTaskMs = Math.round(performance.now() - t);
        const parser = new ClaudeStreamParser();
        const events: AgentEvent[] = [...parser.feed(run.stdout), ...parser.end()];
        expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
        expect(events.find((e) => e.kind === 'tool-use')).toMatchObject({ name: 'Write', summary: 'Write: /workspace/hello.txt' });
        expect(events.find((e) => e.kind === 'tool-result')).toMatchObject({ toolName: 'Write', isError: false });
        expect(events.at(-1)).toMatchObject({ kind: 'result', ok: true, turns: 2 });
        expect(parser.statusLine).toBe('Done in 2 turns');
        expect(readFileSync(join(workspace, 'hello.txt'), 'utf8')).toBe('written by claude in the VM\n');

        // The API saw the user's key on every call; the guest never had it.
        expect(api.requests.length).toBeGreaterThanOrEqual(2);
        expect(api.requests.every((r) => r.headers['x-api-key'] === USER_KEY)).toBe(true);
        const environ = await ssh!.exec(`env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; echo END`);
        expect(environ.stdout).toContain('END');
        expect(environ.stdout).not.toContain(USER_KEY);
        // Files the agent could have written (the overlay's writable layer, the workspace): grep lists none.
        const files = await ssh!.exec(`grep -rIl -- '${USER_KEY}' /run/vivarium/rw /workspace /tmp /root 2>/dev/null; echo END`);
        expect(files.stdout).toBe('END\n');
        await session.audit.flush();
        const log = await readGatewayLog(join(work, 'tasks', TASK, GATEWAY_LOG_FILE));
        expect(log.length).toBe(api.requests.length);
        expect(log.every((r) => r.decision === 'allowed' && r.status === 200 && r.endpoint === '/v1/messages')).toBe(true);
        expect(log.some((r) => r.outputTokens === 20)).toBe(true);
      } finally {
        await session.close();
        await api.close();
      }
    }, 900_000);
  });
}
