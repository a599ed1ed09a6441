import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGuest, type TestGuest } from '../egress/ssh-test-guest.js';
import { GatewaySession } from './gateway-session.js';
import { StaticKeyStore } from './key-store.js';

let guest: TestGuest;
let dir: string;
beforeAll(async () => {
  guest = await startTestGuest();
  dir = await mkdtemp(join(tmpdir(), 'viv-gwsession-'));
});
afterAll(async () => {
  await guest.close();
  await rm(dir, { recursive: true, force: true });
});

describe('GatewaySession', () => {
  it('forwards one guest port per API and points a task at them with a placeholder key only', async () => {
    const session = await GatewaySession.start({
      workspaceId: 'ws', apis: ['anthropic', 'openai'], keys: new StaticKeyStore({ anthropic: 'sk-ant-user', openai: 'sk-openai-user' }),
      tasksDir: join(dir, 'tasks'), vmDir: join(dir, 'vm'), client: guest.client, guestPorts: { anthropic: 0, openai: 0 },
    });
    try {
      const a = session.guestPort('anthropic')!;
      const o = session.guestPort('openai')!;
      expect(guest.forwardedPorts).toEqual([a, o]);
      const env = session.taskEnvironment('t1', ['anthropic', 'openai']);
      expect(env).toEqual({
        ANTHROPIC_BASE_URL: `http://127.0.0.1:${a}`,
        ANTHROPIC_API_KEY: expect.stringMatching(/^vivgw\.t1\./),
        OPENAI_BASE_URL: `http://127.0.0.1:${o}/v1`,
        OPENAI_API_KEY: env.ANTHROPIC_API_KEY,
        CODEX_API_KEY: env.ANTHROPIC_API_KEY,
      });
      expect(JSON.stringify(env)).not.toMatch(/sk-(ant|openai)-user/);
      expect(session.taskEnvironment('t2', [])).toEqual({});
    } finally {
      await session.close();
    }
  });

  it('refuses a task that needs an API the VM was started without', async () => {
    const session = await GatewaySession.start({
      workspaceId: 'ws', apis: ['anthropic'], keys: new StaticKeyStore({}),
      tasksDir: join(dir, 'tasks'), vmDir: join(dir, 'vm'), client: guest.client, guestPorts: { anthropic: 0 },
    });
    try {
      expect(() => session.taskEnvironment('t3', ['openai'])).toThrow(/does not serve the openai API/);
    } finally {
      await session.close();
    }
  });
});
