import { describe, expect, it } from 'vitest';
import type { AgentProfile, ApiKeyStatus } from '../shared/contract-schemas.js';
import { apiNeeds, joinNames, keySourceWords } from './agent-words.js';

const claude: AgentProfile = {
  id: 'claude-code', name: 'Claude Code', description: 'd', takesPrompt: true, hosts: [], image: 'standard', apis: ['anthropic'], showsSteps: true,
};
const status = (source: ApiKeyStatus['source']): ApiKeyStatus => ({
  api: 'anthropic', name: 'Anthropic', envVar: 'ANTHROPIC_API_KEY', stored: source === 'app', source,
});

describe('keySourceWords', () => {
  it('names where the key comes from, never the key', () => {
    expect(keySourceWords(status('app'))).toBe('Stored in the app');
    expect(keySourceWords(status('env'))).toBe('From $ANTHROPIC_API_KEY');
    expect(keySourceWords(status(null))).toBe('Not set');
    expect(keySourceWords(status('env'), true)).toBe('from $ANTHROPIC_API_KEY');
  });
});

describe('apiNeeds', () => {
  it('marks a key missing only when the core says none is set', () => {
    expect(apiNeeds(claude, [status(null)])).toEqual([{ api: 'anthropic', name: 'Anthropic', status: status(null), missing: true }]);
    expect(apiNeeds(claude, [status('env')])[0]!.missing).toBe(false);
    // Statuses not loaded (or keys:list failed): unknown, not missing, so the form does not block.
    expect(apiNeeds(claude, [])[0]).toMatchObject({ name: 'Anthropic', status: null, missing: false });
  });

  it('joins names for people', () => {
    expect(joinNames(['Anthropic'])).toBe('Anthropic');
    expect(joinNames(['Anthropic', 'OpenAI'])).toBe('Anthropic and OpenAI');
  });
});
