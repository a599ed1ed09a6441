/**
 * The APIs the gateway fronts (issue 10), as data: where the real API lives, which guest port the
 * agent is pointed at, how the user's key is sent upstream, and the only endpoints and methods a
 * profile may call. Anything not listed here is refused by the gateway, whatever the guest sends.
 */

/** The APIs a profile can need. */
export type ApiId = 'anthropic' | 'openai';

/** One allowed endpoint: a method and an exact path (the query string is not part of the match). */
export interface AllowedRoute {
  method: 'GET' | 'POST';
  path: string;
}

/** One API as the gateway serves it. */
export interface ApiDefinition {
  id: ApiId;
  /** The real API's base URL (https). Tests and the config override it. */
  defaultBaseUrl: string;
  /** The guest loopback port forwarded to this API's gateway endpoint. */
  guestPort: number;
  /** How the user's key travels upstream. */
  keyHeader: (key: string) => Record<string, string>;
  /** The environment that points the agent at the gateway, given the guest base URL and the placeholder key. */
  agentEnv: (guestBaseUrl: string, placeholderKey: string) => Record<string, string>;
  /** The endpoints a profile may call; all others are refused. */
  routes: readonly AllowedRoute[];
}

/** Guest address every gateway endpoint listens on (MUST stay loopback). */
export const GATEWAY_GUEST_HOST = '127.0.0.1';

/**
 * The built-in APIs. Anthropic: the Messages endpoints only (with count_tokens, which Claude Code
 * calls before long prompts) — no Files, Batches, Models admin or organisation endpoints, so a
 * planted key cannot upload the workspace anywhere. OpenAI: the Responses and Chat Completions
 * endpoints Codex CLI uses, and listing models (read-only), nothing else.
 */
export const GATEWAY_APIS: Readonly<Record<ApiId, ApiDefinition>> = {
  anthropic: {
    id: 'anthropic',
    defaultBaseUrl: 'https://api.anthropic.com',
    guestPort: 3141,
    keyHeader: (key) => ({ 'x-api-key': key }),
    agentEnv: (url, placeholder) => ({ ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: placeholder }),
    routes: [
      { method: 'POST', path: '/v1/messages' },
      { method: 'POST', path: '/v1/messages/count_tokens' },
    ],
  },
  openai: {
    id: 'openai',
    defaultBaseUrl: 'https://api.openai.com',
    guestPort: 3142,
    keyHeader: (key) => ({ authorization: `Bearer ${key}` }),
    agentEnv: (url, placeholder) => ({ OPENAI_BASE_URL: `${url}/v1`, OPENAI_API_KEY: placeholder, CODEX_API_KEY: placeholder }),
    routes: [
      { method: 'POST', path: '/v1/responses' },
      { method: 'POST', path: '/v1/chat/completions' },
      // Read-only: Codex refreshes its model list at start.
      { method: 'GET', path: '/v1/models' },
    ],
  },
};

/** True when `method` + `path` (query string ignored) is one of `api`'s allowed routes. */
export function isAllowedRoute(api: ApiDefinition, method: string, rawPath: string): boolean {
  const path = pathOnly(rawPath);
  // Refuse anything a URL normaliser upstream could read differently from us.
  if (path.includes('..') || path.includes('//') || path.includes('%') || path.includes('\\')) return false;
  return api.routes.some((r) => r.method === method.toUpperCase() && r.path === path);
}

/** The path part of a request target, without query or fragment. */
export function pathOnly(target: string): string {
  const cut = target.search(/[?#]/);
  return cut < 0 ? target : target.slice(0, cut);
}
