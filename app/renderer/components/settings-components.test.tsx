// The Settings tab's keepState controls, rendered statically (the harness e2e drives the window).
import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import type { WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { SettingsTab } from './SettingsTab.js';

const ws = (state: WorkspaceSnapshot['vm']['state'], keepState: boolean): WorkspaceSnapshot => ({
  id: 'w1', name: 'site', grant: { workspaceId: 'w1', canonicalPath: '/tmp/site', mode: 'rw', createdAt: 1 },
  vm: { state, reason: null, bootMs: null, startedAt: null }, settings: { cpus: 2, memoryMiB: 512, keepState },
  egress: { mode: 'off' },
});

describe('SettingsTab keepState', () => {
  it('shows a labelled checkbox saying what keeping the state means, and Discard while the VM is stopped', () => {
    const html = renderToStaticMarkup(<SettingsTab workspace={ws('stopped', false)} />);
    expect(html).toMatch(/<label[^>]*><input type="checkbox" aria-describedby="set-keep-state-hint"\/>Keep the VM&#x27;s state<\/label>/);
    expect(html).toContain('Installed packages and files outside /workspace survive VM restarts');
    expect(html).toContain('takes space on this');
    expect(html).toContain('Only for agent VMs (the standard image)');
    expect(html).toContain('applies at the next VM start');
    expect(html).toContain('Discard saved state</button>');
    expect(html).not.toContain('Stop the VM to discard');
  });

  it('reflects the stored setting, and offers no Discard while the VM runs', () => {
    const html = renderToStaticMarkup(<SettingsTab workspace={ws('running', true)} />);
    expect(html).toMatch(/<input type="checkbox" aria-describedby="set-keep-state-hint" checked=""\/>Keep the VM/);
    expect(html).not.toContain('Discard saved state');
    expect(html).toContain('Stop the VM to discard its saved state.');
    expect(renderToStaticMarkup(<SettingsTab workspace={ws('failed', true)} />)).toContain('Discard saved state</button>');
  });
});
