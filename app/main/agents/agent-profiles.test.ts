import { describe, expect, it } from 'vitest';
import { AGENT_PROFILES, agentInvocation, agentProfile, imageForProfiles, toContractProfile } from './agent-profiles.js';

const gatewayEnv = { ANTHROPIC_BASE_URL: 'http://127.0.0.1:3141', ANTHROPIC_API_KEY: 'vivgw.t1.placeholder' };

describe('agent profiles', () => {
  it('runs a shell task as the text itself in the tiny image', () => {
    expect(agentInvocation(null, 'ls -la | wc -l')).toEqual({ command: 'ls -la | wc -l', env: {}, image: 'tiny', output: 'terminal' });
  });

  it('runs Claude Code on a quoted prompt with stream-json output, pointed at the gateway', () => {
    const inv = agentInvocation('claude-code', "fix the bug; don't `rm` $HOME", gatewayEnv);
    expect(inv.command).toBe(`claude -p 'fix the bug; don'\\''t \`rm\` $HOME' --output-format stream-json --verbose --permission-mode bypassPermissions </dev/null`);
    expect(inv).toMatchObject({ image: 'standard', output: 'claude-stream-json' });
    expect(inv.env).toMatchObject({ ...gatewayEnv, IS_SANDBOX: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' });
  });

  it('runs Codex with `codex exec` against the OpenAI gateway', () => {
    const inv = agentInvocation('codex', 'add tests', { OPENAI_BASE_URL: 'http://127.0.0.1:3142/v1', OPENAI_API_KEY: 'vivgw.t2.x' });
    expect(inv.command).toMatch(/^codex exec -c 'model_provider="vivarium"' -c 'model_providers\.vivarium=\{ .*base_url = "http:\/\/127\.0\.0\.1:3142\/v1".*supports_websockets = false \}' --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox 'add tests' <\/dev\/null$/);
    expect(inv.env).toMatchObject({ OPENAI_API_KEY: 'vivgw.t2.x' });
    expect(inv.image).toBe('standard');
  });

  it('refuses an unknown profile, an empty prompt, and a VM without the needed gateway', () => {
    expect(() => agentProfile('gpt-pilot')).toThrow(/no agent profile "gpt-pilot"/);
    expect(() => agentInvocation('claude-code', '   ', gatewayEnv)).toThrow(/needs a prompt/);
    expect(() => agentInvocation('claude-code', 'hi', {})).toThrow(/needs the anthropic API gateway/);
  });

  it('picks the standard image only when a profile needs it, and lists profiles in the contract shape', () => {
    expect(imageForProfiles([null, 'shell'])).toBe('tiny');
    expect(imageForProfiles(['shell', 'codex'])).toBe('standard');
    expect(AGENT_PROFILES.map(toContractProfile).map((p) => [p.id, p.takesPrompt])).toEqual([
      ['shell', false],
      ['claude-code', true],
      ['codex', true],
    ]);
  });
});
