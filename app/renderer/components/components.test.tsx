import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import type { ConsentInspection } from '../../shared/contract-schemas.js';
import { VivError } from '../../shared/errors.js';
import { ConsentDetails } from './ConsentDetails.js';
import { ErrorNotice } from './ErrorNotice.js';
import { ProgressBar } from './ProgressBar.js';
import { makeOffsetWriter } from './TaskOutput.js';

const inspection: ConsentInspection = {
  requestedPath: '/home/ann/site', canonicalPath: '/home/ann/site', refusal: null, warnings: [],
  needsConfirmation: false, fileCount: 1234, totalBytes: 45_600_000, countIncomplete: false,
};
const noop = (): void => {};

describe('ConsentDetails', () => {
  it('shows the canonical path, the figures, and what the VM will and will not see', () => {
    const html = renderToStaticMarkup(<ConsentDetails inspection={inspection} mode="ro" onModeChange={noop} confirmed={false} onConfirmedChange={noop} />);
    expect(html).toContain('/home/ann/site');
    expect(html).toContain('1,234 files, 45.6 MB');
    expect(html).toContain('The VM will see');
    expect(html).toContain('The VM will not see');
    expect(html).not.toContain('I understand the risk');
  });

  it("lists the core's warnings with the second confirmation when asked", () => {
    const warned = { ...inspection, warnings: [{ kind: 'secrets' as const, message: 'Holds secrets', paths: ['.env', '.ssh'] }], needsConfirmation: true };
    const html = renderToStaticMarkup(<ConsentDetails inspection={warned} mode="rw" onModeChange={noop} confirmed={false} onConfirmedChange={noop} />);
    expect(html).toContain('Holds secrets');
    expect(html).toContain('.env, .ssh');
    expect(html).toContain('I understand the risk');
  });

  it('shows a refusal instead of the choices', () => {
    const refused = { ...inspection, refusal: '/ is the root of a filesystem' };
    const html = renderToStaticMarkup(<ConsentDetails inspection={refused} mode="ro" onModeChange={noop} confirmed={false} onConfirmedChange={noop} />);
    expect(html).toContain('cannot be shared');
    expect(html).toContain('/ is the root of a filesystem');
    expect(html).not.toContain('type="radio"');
  });
});

describe('ErrorNotice', () => {
  it('says the message in words and escapes it (never HTML)', () => {
    const html = renderToStaticMarkup(<ErrorNotice error={new VivError('notFound', 'Folder <b>x</b> is gone', { errno: -2 })} title="Could not start the VM" />);
    expect(html).toContain('Could not start the VM');
    expect(html).toContain('Folder &lt;b&gt;x&lt;/b&gt; is gone');
    expect(html).toContain('Details');
    expect(html).not.toContain('errno'); // the detail is one click away, not shown up front
  });
});

describe('ProgressBar', () => {
  it('exposes the percentage to assistive technology', () => {
    const html = renderToStaticMarkup(<ProgressBar progress={{ kind: 'normal', percent: 42 }} state="running" label="Task progress" />);
    expect(html).toContain('aria-valuenow="42"');
    expect(html).toContain('width:42%');
  });
  it('is full once a task that reported progress succeeded', () => {
    const html = renderToStaticMarkup(<ProgressBar progress={{ kind: 'normal', percent: 80 }} state="succeeded" label="p" />);
    expect(html).toContain('aria-valuenow="100"');
  });
});

describe('makeOffsetWriter', () => {
  it('drops and trims chunks the backlog already showed', () => {
    const out: string[] = [];
    const w = makeOffsetWriter((d) => out.push(d));
    w.setNext(6); // backlog was "hello " (6 bytes)
    w.write({ offset: 0, data: 'hello ' });
    w.write({ offset: 3, data: 'lo wörld' });
    w.write({ offset: 15, data: '!' });
    expect(out).toEqual(['wörld', '\r\n\x1b[2m… 3 bytes not shown (fast output; the full log is kept) …\x1b[0m\r\n', '!']);
  });
});
