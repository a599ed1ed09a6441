import { describe, expect, it } from 'vitest';
import { guestResponseHeaders, isDroppedRequestHeader, upstreamRequestHeaders } from './header-filter.js';

describe('gateway header filter', () => {
  it('drops every credential-like and hop-by-hop header from the guest', () => {
    for (const h of ['Authorization', 'x-api-key', 'Cookie', 'Proxy-Authorization', 'anthropic-api-key', 'openai-organization', 'OpenAI-Project', 'x-goog-api-key', 'x-auth-token', 'chatgpt-account-id', 'session_id', 'Host', 'Connection', 'Transfer-Encoding', 'Upgrade', 'Accept-Encoding']) {
      expect(isDroppedRequestHeader(h), h).toBe(true);
    }
    for (const h of ['content-type', 'content-length', 'anthropic-version', 'anthropic-beta', 'openai-beta', 'user-agent', 'x-stainless-lang', 'accept']) {
      expect(isDroppedRequestHeader(h), h).toBe(false);
    }
  });

  it('adds the user key after filtering, so a guest header cannot override it', () => {
    const out = upstreamRequestHeaders({ 'x-api-key': 'planted', 'X-API-KEY': 'planted2', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' } as never, { 'X-Api-Key': 'user-key' });
    expect(out).toEqual({ 'anthropic-version': '2023-06-01', 'content-type': 'application/json', 'accept-encoding': 'identity', 'x-api-key': 'user-key' });
  });

  it('drops cookies and hop-by-hop headers from responses, keeps the rest', () => {
    expect(guestResponseHeaders({ 'set-cookie': ['a=1'], connection: 'close', 'content-type': 'text/event-stream', 'request-id': 'r1', 'content-length': '5' })).toEqual({
      'content-type': 'text/event-stream',
      'request-id': 'r1',
      'content-length': '5',
    });
  });
});
