/**
 * Words for agent profiles and API keys, as the new-task form and the settings show them.
 * Pure, so they are unit-tested.
 */
import { apiKeyInputSchema, type AgentProfile, type ApiIdInfo, type ApiKeyStatus } from '../shared/contract-schemas.js';

/** The API names used while the core has not said them (key statuses carry the real ones). */
export const API_NAMES: Record<ApiIdInfo, string> = { anthropic: 'Anthropic', openai: 'OpenAI' };

/** What each guest image is, in a few words. */
export const IMAGE_WORDS: Record<AgentProfile['image'], string> = {
  tiny: 'Tiny image (BusyBox shell tools)',
  standard: 'Standard image (Debian with git, Python, Node.js and the agent CLIs)',
};

/** Where a key comes from: "Stored in the app", "From $OPENAI_API_KEY", "Not set" (lower-case first letter inside a sentence). */
export function keySourceWords(status: ApiKeyStatus, inSentence = false): string {
  const words = status.source === 'app' ? 'Stored in the app' : status.source === 'env' ? `From $${status.envVar}` : 'Not set';
  return inSentence ? words[0]!.toLowerCase() + words.slice(1) : words;
}

/** One API a profile needs, with whether its key is available (`null` = unknown). */
export interface ApiNeed {
  api: ApiIdInfo;
  name: string;
  status: ApiKeyStatus | null;
  missing: boolean;
}

/** The APIs a profile needs and their key status; a key counts as missing only when the core says so. */
export function apiNeeds(profile: AgentProfile, statuses: readonly ApiKeyStatus[]): ApiNeed[] {
  return profile.apis.map((api) => {
    const status = statuses.find((s) => s.api === api) ?? null;
    return { api, name: status?.name ?? API_NAMES[api], status, missing: status !== null && status.source === null };
  });
}

/** "Anthropic", "Anthropic and OpenAI". */
export function joinNames(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** The problem with a typed API key in plain words, or null when it may be sent (the core checks again). */
export function keyProblem(key: string): string | null {
  const r = apiKeyInputSchema.safeParse(key);
  return r.success ? null : (r.error.issues[0]?.message ?? 'This is not a valid API key.');
}
