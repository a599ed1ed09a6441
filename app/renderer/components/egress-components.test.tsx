import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import type { EgressPromptInfo, EgressRecordInfo } from '../../shared/contract-schemas.js';
import { createEgressStore } from '../stores/egress-store.js';
import { hostPort } from './EgressPromptDialog.js';
import { policyFromText } from './NetworkTab.js';
import { NetworkLogTable } from './TaskNetworkLog.js';

const record = (over: Partial<EgressRecordInfo> = {}): EgressRecordInfo => ({
  time: '2026-11-27T04:00:00.000Z', workspaceId: 'w1', taskId: 't1', host: 'api.example.com', port: 443, kind: 'connect',
  method: null, decision: 'allowed', reason: 'allowed by api.example.com', address: '192.0.2.1', status: 200,
  bytesUp: 1536, bytesDown: 2_500_000, durationMs: 12, ...over,
});
const prompt = (id: string, createdAt: number): EgressPromptInfo => ({
  id, workspaceId: 'w1', taskId: 't1', host: '127.0.0.1', port: 8080, kind: 'http', method: 'GET',
  blockedAs: 'blocked-by-policy', reason: 'not allowed', createdAt, expiresAt: createdAt + 120_000,
});

describe('NetworkLogTable', () => {
  it('shows host, port, method, decision, reason and bytes both ways, escaping what the guest sent', () => {
    const html = renderToStaticMarkup(<NetworkLogTable records={[
      record(),
      record({ host: '<img src=x>', port: 80, kind: 'http', method: 'POST', decision: 'blocked-by-policy', reason: 'denied by the user', bytesUp: 0, bytesDown: 0 }),
    ]} />);
    expect(html).toContain('api.example.com');
    expect(html).toContain('CONNECT');
    expect(html).toContain('Allowed');
    expect(html).toContain('1.5 kB');
    expect(html).toContain('2.5 MB');
    expect(html).toContain('POST');
    expect(html).toContain('denied by the user');
    expect(html).toContain('&lt;img src=x&gt;');
    expect(html).not.toContain('<img');
  });
});

describe('policyFromText', () => {
  it('keeps one trimmed pattern a line and drops blank lines; off ignores the text', () => {
    expect(policyFromText('allowlist', ' api.example.com \n\n*.example.org:8443\n')).toEqual({ mode: 'allowlist', hosts: ['api.example.com', '*.example.org:8443'] });
    expect(policyFromText('off', 'api.example.com')).toEqual({ mode: 'off' });
  });
});

describe('hostPort', () => {
  it('brackets IPv6 literals', () => {
    expect(hostPort({ host: '::1', port: 80 })).toBe('[::1]:80');
    expect(hostPort({ host: 'a.example', port: 443 })).toBe('a.example:443');
  });
});

describe('egress prompt store', () => {
  it('keeps waiting prompts oldest first, once each, and drops settled ones', async () => {
    const s = createEgressStore({ egress: { prompts: async () => [prompt('p1', 1)] } } as never);
    s.getState().applyPrompt(prompt('p2', 2));
    await s.getState().load('w1');
    s.getState().applyPrompt(prompt('p2', 2));
    expect(s.getState().prompts.map((p) => p.id)).toEqual(['p1', 'p2']);
    s.getState().applySettled({ workspaceId: 'w1', promptId: 'p1', outcome: 'once' });
    expect(s.getState().prompts.map((p) => p.id)).toEqual(['p2']);
  });
});
