import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import type { AgentProfile, ApiKeyStatus, GatewayRecordInfo } from '../../shared/contract-schemas.js';
import { apiNeeds } from '../agent-words.js';
import { stepItems } from '../steps-model.js';
import { ApiKeyRow } from './ApiKeyRow.js';
import { ProfileFacts } from './ProfileFacts.js';
import { GatewayLogTable } from './TaskGatewayLog.js';
import { StepList } from './TaskSteps.js';

const claude: AgentProfile = {
  id: 'claude-code', name: 'Claude Code', description: 'Runs Claude Code on the prompt.', takesPrompt: true, hosts: [],
  image: 'standard', apis: ['anthropic'], showsSteps: true,
};
const status = (source: ApiKeyStatus['source']): ApiKeyStatus => ({
  api: 'anthropic', name: 'Anthropic', envVar: 'ANTHROPIC_API_KEY', stored: source === 'app', source,
});
const noop = (): void => {};
const none = async (): Promise<void> => {};

describe('ProfileFacts (new-task form)', () => {
  it('says which image and which API the agent uses, and where the key comes from', () => {
    const html = renderToStaticMarkup(<ProfileFacts profile={claude} needs={apiNeeds(claude, [status('env')])} onAddKey={noop} />);
    expect(html).toContain('Standard image (Debian');
    expect(html).toContain('Anthropic through the host gateway (key from $ANTHROPIC_API_KEY)');
    expect(html).not.toContain('data-testid="missing-key"');
  });

  it('says when the key is missing, with a way to the settings', () => {
    const html = renderToStaticMarkup(<ProfileFacts profile={claude} needs={apiNeeds(claude, [status(null)])} onAddKey={noop} />);
    expect(html).toContain('Claude Code needs your Anthropic API key, and none is set.');
    expect(html).toMatch(/<button[^>]*>Add it in Settings<\/button>/);
  });
});

describe('ApiKeyRow (settings)', () => {
  it('shows where the key comes from and offers Replace and Clear for a stored key, never the key', () => {
    const html = renderToStaticMarkup(<ApiKeyRow status={status('app')} autoFocus={false} onStore={none} onClear={none} />);
    expect(html).toContain('Stored in the app');
    expect(html).toContain('Replace key');
    expect(html).toContain('>Clear<');
    expect(html).toContain('type="password"');
    expect(html).toContain('value=""');
    expect(html).toMatch(/<label[^>]*for="key-anthropic-input"[^>]*>Anthropic API key<\/label>/);
  });

  it('names the environment variable when the key comes from it; no Clear then', () => {
    const html = renderToStaticMarkup(<ApiKeyRow status={status('env')} autoFocus={false} onStore={none} onClear={none} />);
    expect(html).toContain('From $ANTHROPIC_API_KEY');
    expect(html).toContain('Store key');
    expect(html).not.toContain('>Clear<');
  });
});

describe('StepList (task steps)', () => {
  it('shows text, each tool use with its summary and collapsible result, and the final figures, as text', () => {
    const items = stepItems([
      { taskId: 't', index: 0, at: 1, step: { kind: 'text', text: 'Writing <img src=x onerror=alert(1)>' } },
      { taskId: 't', index: 1, at: 2, step: { kind: 'tool-use', id: 'u1', name: 'Write', summary: 'Write: /workspace/hello.txt' } },
      { taskId: 't', index: 2, at: 3, step: { kind: 'tool-result', toolUseId: 'u1', toolName: 'Write', isError: false, text: 'File created successfully' } },
      { taskId: 't', index: 3, at: 4, step: { kind: 'result', ok: true, text: 'All done', turns: 2, costUsd: 0.0042, durationMs: 3100, inputTokens: 900, outputTokens: 120 } },
    ]);
    const html = renderToStaticMarkup(<StepList items={items} active={false} />);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');
    expect(html).toMatch(/<details[^>]*><summary><span class="step-tool-name">Write<\/span><span class="step-tool-summary">\/workspace\/hello.txt<\/span>/);
    expect(html).toContain('File created successfully');
    expect(html).toContain('2 turns · $0.0042 · 900 tokens in, 120 out · 3.1 s');
  });

  it('marks a tool use still waiting while the task runs, and one that never got a result after', () => {
    const items = stepItems([{ taskId: 't', index: 0, at: 1, step: { kind: 'tool-use', id: 'u1', name: 'Bash', summary: 'Bash: make' } }]);
    expect(renderToStaticMarkup(<StepList items={items} active />)).toContain('running…');
    expect(renderToStaticMarkup(<StepList items={items} active={false} />)).toContain('No result was reported.');
  });
});

describe('GatewayLogTable (task network view)', () => {
  it('shows API, call, decision, status, tokens and bytes', () => {
    const r = (over: Partial<GatewayRecordInfo>): GatewayRecordInfo => ({
      time: '2026-11-27T04:00:00.000Z', workspaceId: 'w', taskId: 't', api: 'anthropic', method: 'POST', endpoint: '/v1/messages',
      decision: 'allowed', status: 200, bytesUp: 2048, bytesDown: 10_000, inputTokens: 1200, outputTokens: 80, durationMs: 900, ...over,
    });
    const html = renderToStaticMarkup(<GatewayLogTable records={[r({}), r({ endpoint: '/v1/files', decision: 'refused-endpoint', status: 403, inputTokens: null, outputTokens: null })]} />);
    expect(html).toContain('Anthropic');
    expect(html).toContain('POST /v1/messages');
    expect(html).toContain('1,200 / 80');
    expect(html).toContain('— / —');
    expect(html).toContain('10.0 kB');
    expect(html).toContain('Refused: endpoint not allowed');
    expect(html).toContain('403');
  });
});
