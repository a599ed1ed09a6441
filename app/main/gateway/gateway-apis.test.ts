import { describe, expect, it } from 'vitest';
import { GATEWAY_APIS, isAllowedRoute } from './gateway-apis.js';
import { GatewayCallers } from './gateway-callers.js';
import { EnvKeyStore } from './key-store.js';

describe('gateway routes', () => {
  it('lets Claude Code reach only the Messages endpoints', () => {
    const a = GATEWAY_APIS.anthropic;
    expect(isAllowedRoute(a, 'POST', '/v1/messages?beta=true')).toBe(true);
    expect(isAllowedRoute(a, 'post', '/v1/messages/count_tokens')).toBe(true);
    for (const [m, p] of [['GET', '/v1/messages'], ['POST', '/v1/files'], ['POST', '/v1/messages/batches'], ['GET', '/v1/organizations/me'], ['POST', '/v1/messages/../files'], ['POST', '/v1//messages'], ['POST', '/v1/%6dessages'], ['POST', '/v1/messages/']]) {
      expect(isAllowedRoute(a, m!, p!), `${m} ${p}`).toBe(false);
    }
  });

  it('lets Codex reach only Responses, Chat Completions and the model list', () => {
    const o = GATEWAY_APIS.openai;
    expect(isAllowedRoute(o, 'GET', '/v1/models')).toBe(true);
    expect(isAllowedRoute(o, 'POST', '/v1/models')).toBe(false);
    expect(isAllowedRoute(o, 'GET', '/v1/files')).toBe(false);
    expect(isAllowedRoute(o, 'POST', '/v1/responses')).toBe(true);
    expect(isAllowedRoute(o, 'POST', '/v1/chat/completions')).toBe(true);
    expect(isAllowedRoute(o, 'POST', '/v1/files')).toBe(false);
    expect(isAllowedRoute(o, 'POST', '/v1/messages')).toBe(false);
  });
});

describe('GatewayCallers', () => {
  it('maps a placeholder key back to its task until it is revoked', () => {
    const c = new GatewayCallers();
    const key = c.issue('task-1');
    expect(c.taskFor({ 'x-api-key': key })).toBe('task-1');
    expect(c.taskFor({ authorization: `Bearer ${key}` })).toBe('task-1');
    expect(c.taskFor({ 'x-api-key': key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A') })).toBeNull();
    expect(c.taskFor({ 'x-api-key': 'sk-ant-real' })).toBeNull();
    c.revoke('task-1');
    expect(c.taskFor({ 'x-api-key': key })).toBeNull();
    expect(() => c.issue('../x')).toThrow(/not a task id/);
  });
});

describe('EnvKeyStore', () => {
  it('reads ANTHROPIC_API_KEY and OPENAI_API_KEY, treating empty as missing', async () => {
    const keys = new EnvKeyStore({ ANTHROPIC_API_KEY: ' sk-a ', OPENAI_API_KEY: '' });
    expect(await keys.keyFor('anthropic')).toBe('sk-a');
    expect(await keys.keyFor('openai')).toBeNull();
  });
});
