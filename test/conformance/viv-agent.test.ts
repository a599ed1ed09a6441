// `viv run --profile claude-code "prompt"` end to end (issue 10): headless, the key from
// ANTHROPIC_API_KEY on the host, the upstream a local stand-in for the Messages API
// (VIVARIUM_ANTHROPIC_UPSTREAM, trusted through NODE_EXTRA_CA_CERTS), the folder the current
// directory. The steps print as lines a person reads; the exit status is Claude Code's.
// Needs both guest images (see agents-core.test.ts); skipped with the reason otherwise.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMessagesApi, type FakeMessagesApi } from '../../app/main/agents/agents-test-kit.js';
import { makeTestCertificate } from '../../app/main/egress/egress-test-kit.js';
import { hostGuestArch, loadGuestImage } from '../../app/main/image/guest-image.js';
import { defaultStandardDir } from '../../app/main/image/standard-image.js';
import { processesMentioning, REPO, runViv, scratch } from './core-support.js';

const USER_KEY = `sk-ant-user-${randomBytes(12).toString('hex')}`;
const arch = hostGuestArch();
const rootfs = join(defaultStandardDir(join(REPO, 'dist', 'guest')), arch, 'rootfs.ext4');
const why = await loadGuestImage(arch).then(
  () => (existsSync(rootfs) ? '' : `${rootfs} is missing (bash guest-image/standard/build.sh ${arch})`),
  (e: Error) => `the tiny guest image is not usable (${e.message})`,
);
if (why) console.warn(`viv-agent: skipped: ${why}`);

let base: { dir: string; cleanup: () => Promise<void> };
let api: FakeMessagesApi;
let env: NodeJS.ProcessEnv;

describe.skipIf(why !== '')('viv run --profile claude-code', () => {
  beforeAll(async () => {
    base = await scratch('viv-agent');
    await mkdir(join(base.dir, 'project'));
    const tls = await makeTestCertificate();
    await writeFile(join(base.dir, 'ca.pem'), tls.cert);
    api = await startFakeMessagesApi(tls, { name: 'Write', input: { file_path: '/workspace/notes.txt', content: 'from viv\n' } }, 'All written.');
    env = { ANTHROPIC_API_KEY: USER_KEY, VIVARIUM_ANTHROPIC_UPSTREAM: api.baseUrl, NODE_EXTRA_CA_CERTS: join(base.dir, 'ca.pem') };
  });
  afterAll(async () => {
    await api?.close();
    if (base) {
      expect(await processesMentioning(base.dir)).toEqual([]);
      await base.cleanup();
    }
  });

  it('runs the agent in the current folder and prints its steps', async () => {
    const t0 = performance.now();
    const r = await runViv(['run', '--profile', 'claude-code', 'Write notes.txt'], join(base.dir, 'data'), { env, cwd: join(base.dir, 'project'), timeoutMs: 600_000 });
    console.log(`viv-agent: ${Math.round(performance.now() - t0)} ms`);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      expect.stringMatching(/^● session started/),
      '→ Write: /workspace/notes.txt',
      expect.stringMatching(/^ {2}✓ Write/),
      'All written.',
      expect.stringMatching(/^✓ done · 2 turns/),
      '',
    ]);
    expect(await readFile(join(base.dir, 'project', 'notes.txt'), 'utf8')).toBe('from viv\n');
    expect(api.requests.every((q) => q.headers['x-api-key'] === USER_KEY)).toBe(true);
  }, 700_000);

  it('refuses before booting when the key is missing, naming the variable', async () => {
    const r = await runViv(['run', '--profile', 'claude-code', 'hi'], join(base.dir, 'data'), { env: { ANTHROPIC_API_KEY: '' }, cwd: join(base.dir, 'project') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Claude Code needs your Anthropic API key.*set ANTHROPIC_API_KEY/);
    expect(r.stdout).toBe('');
  }, 120_000);
});
