// The TypeScript wire types against the golden transcripts (native/protocol/fixtures) that the
// C and Swift helpers replay: every request, reply and event line of every fixture is parsed with
// the schemas of helper-protocol.ts, so neither side can change without the other noticing.
// - Requests: a request a helper accepts MUST parse; one a helper answers `invalidArgument` MUST
//   NOT, unless only the file system or the helper's features can tell (HOST_CHECKED, each with its
//   reason; an entry the schema already refuses is stale and fails the test). For `start`,
//   `unsupported` (a kind, arch or format outside the closed sets) MUST NOT parse either. A
//   `notFound` answer says nothing about the members checked after the missing file (§5.2.3).
// - Replies: each result with the result schema of its method; each error with the error shape.
// - Events: with the event schemas.
// Expected lines are patterns (PROTOCOL.md §7): a wildcard takes a sample value, `<any-of:…>`
// each of its values in turn, and members a pattern leaves out come from the sample.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  helloParamsSchema,
  helloResultSchema,
  helperErrorSchema,
  knownEventSchema,
  parseEvent,
  requestIdSchema,
  resultSchemas,
  stopParamsSchema,
  vmSpecSchema,
  type HelperMethod,
} from './helper-protocol.js';
import { loadTranscripts, substitute, type Transcript, type TranscriptStep } from './helper-transcript.js';

/** Placeholder values as test/support/transcript.ts makes them, for a unix helper and one under Wine. */
const STYLES: Record<'unix' | 'wine', { vars: Record<string, string>; skips: string }> = {
  unix: {
    skips: 'none',
    vars: {
      KERNEL: '/tmp/viv-tr-Ab12Cd/kernel', INITRD: '/tmp/viv-tr-Ab12Cd/initrd', SHARE: '/tmp/viv-tr-Ab12Cd/share', RUNDIR: '/tmp/viv-tr-Ab12Cd/run',
      CONSOLE: '/tmp/viv-tr-Ab12Cd/run/console.log', CHANNEL: '/tmp/viv-tr-Ab12Cd/run/ssh.sock', DATA_CHANNEL: '/tmp/viv-tr-Ab12Cd/run/data.sock',
      DISK: '/tmp/viv-tr-Ab12Cd/disk.img', DISK_FORMAT: 'raw', ARCH: 'x86_64', CMDLINE: 'quiet',
    },
  },
  wine: {
    skips: 'unix-channel',
    vars: {
      KERNEL: 'Z:\\tmp\\viv-tr-Ab12Cd\\kernel', INITRD: 'Z:\\tmp\\viv-tr-Ab12Cd\\initrd', SHARE: 'Z:\\tmp\\viv-tr-Ab12Cd\\share', RUNDIR: 'Z:\\tmp\\viv-tr-Ab12Cd\\run',
      CONSOLE: 'Z:\\tmp\\viv-tr-Ab12Cd\\run\\console.log', CHANNEL: '\\\\.\\pipe\\vivarium-transcript-viv-tr-Ab12Cd',
      DATA_CHANNEL: '\\\\.\\pipe\\vivarium-transcript-viv-tr-Ab12Cd-data', DISK: 'Z:\\tmp\\viv-tr-Ab12Cd\\disk.vhdx', DISK_FORMAT: 'vhdx', ARCH: 'x86_64', CMDLINE: 'quiet',
    },
  },
};

/** Requests a helper refuses with invalidArgument for reasons no schema can see. Key: `<fixture>#<id>`. */
const HOST_CHECKED: Record<string, string> = {
  'bad-channel-path-unix#53': 'something exists at channelPath',
  'bad-data-channel-path-unix#302': 'something exists at dataChannels[0].path',
  'bad-params#20': 'kernel is a directory',
  'bad-params#23': 'initrd is a directory',
  'bad-params#28': 'cpus is above features.maxCpus',
  'bad-params#33': 'memoryMiB is above features.maxMemoryMiB',
  'bad-params#61': 'consoleLog is a directory',
  'bad-disks#114': 'disks[0].hostPath is a directory',
};

/** Complete sample messages; a pattern's wildcards and left-out members take these values. */
const SAMPLE_RESULTS: Record<HelperMethod, unknown> = {
  hello: {
    protocol: 1, helper: 'qemu-helper', version: '0.1.0', hostArch: 'x86_64', available: true, unavailableReason: null,
    features: {
      accelerators: ['kvm', 'tcg'], guestArchs: ['x86_64', 'arm64'], shareKinds: ['9p'], readOnlyShares: true, channelKinds: ['virtio-serial'],
      consoleLog: true, snapshots: false, maxCpus: 2, maxMemoryMiB: 16384, diskFormats: ['raw'], readOnlyDisks: true, dataChannels: 4,
    },
  },
  start: { state: 'running', accelerator: 'tcg', channel: { kind: 'virtio-serial', path: '/run/x/ssh.sock' }, pid: 4242, dataChannels: [{ name: 'egress', kind: 'virtio-serial', path: '/run/x/egress.sock' }] },
  stop: { state: 'stopped', forced: false },
  status: { state: 'running', accelerator: 'tcg', pid: 4242, uptimeMs: 5321 },
};
const SAMPLE_ERROR = { code: 'internal', message: 'a sample message' };
const SAMPLE_EVENTS: Record<string, unknown> = {
  state: { event: 'state', state: 'running' },
  channel: { event: 'channel', kind: 'virtio-serial', path: '/run/x/ssh.sock' },
  exit: { event: 'exit', reason: 'poweroff', exitCode: null, message: 'the guest powered off' },
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every concrete message a pattern stands for (any-of alternatives multiply), filled from `sample`. */
function instances(pattern: unknown, sample: unknown, at = '$'): unknown[] {
  if (typeof pattern === 'string') {
    if (pattern === '*') {
      if (sample === undefined) throw new Error(`${at}: a wildcard with no sample value; add one to the samples`);
      return [sample];
    }
    if (pattern === '<abs-path>') return ['/an/absolute/path'];
    const anyOf = /^<any-of:(.*)>$/.exec(pattern);
    if (anyOf?.[1] !== undefined) return anyOf[1].split('|');
    return [pattern];
  }
  if (Array.isArray(pattern)) {
    const items = pattern.map((p, i) => instances(p, Array.isArray(sample) ? (sample[i] ?? sample[0]) : undefined, `${at}[${i}]`));
    return product(items);
  }
  if (isObject(pattern)) {
    const base = isObject(sample) ? sample : {};
    const keys = Object.keys(pattern);
    const values = product(keys.map((k) => instances(pattern[k], base[k], `${at}.${k}`)));
    return values.map((vs) => ({ ...base, ...Object.fromEntries(keys.map((k, i) => [k, vs[i]])) }));
  }
  return [pattern];
}

function product(lists: unknown[][]): unknown[][] {
  return lists.reduce<unknown[][]>((acc, list) => acc.flatMap((prefix) => list.map((v) => [...prefix, v])), [[]]);
}

/** What a `send` step sends, as a request when it is one (raw lines are parsed as a helper would). */
function request(step: TranscriptStep & { kind: 'send' }): { id: unknown; method: unknown; params: unknown; hasParams: boolean } | null {
  let o: unknown = step.payload;
  if (typeof o === 'string') {
    try {
      o = JSON.parse(o.replace(/\r$/, ''));
    } catch {
      return null;
    }
  }
  if (!isObject(o)) return null;
  return { id: o.id, method: o.method, params: o.params, hasParams: 'params' in o };
}

/** The reply a transcript expects for request `id` after step `from`. */
function replyTo(t: Transcript, from: number, id: unknown): Record<string, unknown> | null {
  for (const s of t.steps.slice(from + 1)) {
    if (s.kind === 'expect' && isObject(s.pattern) && 'id' in s.pattern && s.pattern.id === id) return s.pattern;
  }
  return null;
}

// `stop` takes only optional members, so its params may be left out (§3, §5.3).
const PARAMS: Partial<Record<HelperMethod, z.ZodType>> = { hello: helloParamsSchema, start: vmSpecSchema, stop: stopParamsSchema.optional() };

describe('the wire types parse every golden transcript line (native/protocol/fixtures)', () => {
  const all = loadTranscripts();
  const hostCheckedSeen = new Set<string>();

  it('finds the fixtures', () => {
    expect(all.length).toBeGreaterThanOrEqual(17);
  });

  for (const [style, { vars, skips }] of Object.entries(STYLES)) {
    for (const t of all.filter((x) => !x.requires.includes(skips))) {
      it(`${t.name} (${style} paths)`, () => {
        const methods = new Map<unknown, string>();
        let checkedRequests = 0;
        let checkedReplies = 0;
        t.steps.forEach((step, i) => {
          const at = `${t.name}.jsonl:${step.line}`;
          if (step.kind === 'sendOversized') methods.set(step.id, 'status');
          if (step.kind === 'send') {
            const req = request(step);
            if (!req || typeof req.method !== 'string') return;
            methods.set(req.id, req.method);
            const schema = PARAMS[req.method as HelperMethod];
            const reply = replyTo(t, i, req.id);
            if (!schema || !reply) return;
            const params = substitute(req.hasParams ? req.params : undefined, vars);
            const parsed = schema.safeParse(params);
            const code = isObject(reply.error) ? reply.error.code : null;
            const key = `${t.name}#${String(req.id)}`;
            if (code !== 'notFound' && code !== 'invalidState') checkedRequests++;
            if (code === 'notFound' || code === 'invalidState') return;
            if (code === null || (code === 'unsupported' && req.method !== 'start')) {
              expect(parsed.success, `${at}: the helper accepts this ${req.method} (${code ?? 'result'}); the schema says ${parsed.error?.issues[0]?.message}`).toBe(true);
            } else if (code === 'invalidArgument' && HOST_CHECKED[key]) {
              hostCheckedSeen.add(key);
              expect(parsed.success, `${at}: HOST_CHECKED lists ${key} (${HOST_CHECKED[key]}), but the schema refuses it already`).toBe(true);
            } else if (code === 'invalidArgument' || code === 'unsupported') {
              expect(parsed.success, `${at}: the helper refuses this ${req.method} with ${code}; the schema accepts it`).toBe(false);
            }
            return;
          }
          if (step.kind !== 'expect' || !isObject(step.pattern)) return;
          const pattern = substitute(step.pattern, vars) as Record<string, unknown>;
          if ('event' in pattern) {
            const sample = SAMPLE_EVENTS[String(pattern.event)];
            for (const e of instances(pattern, sample)) {
              expect(knownEventSchema.safeParse(e).error?.issues, `${at}: ${JSON.stringify(e)}`).toBeUndefined();
              expect(parseEvent(e as Record<string, unknown>), at).not.toBeNull();
            }
            checkedReplies++;
            return;
          }
          expect(pattern.id === null || requestIdSchema.safeParse(pattern.id).success, `${at}: id ${JSON.stringify(pattern.id)}`).toBe(true);
          if ('error' in pattern) {
            for (const e of instances(pattern.error, SAMPLE_ERROR)) expect(helperErrorSchema.safeParse(e).error?.issues, `${at}: ${JSON.stringify(e)}`).toBeUndefined();
          } else {
            const method = methods.get(pattern.id) as HelperMethod | undefined;
            expect(method && method in resultSchemas, `${at}: a result for a request of unknown method`).toBeTruthy();
            for (const r of instances(pattern.result, SAMPLE_RESULTS[method!])) {
              expect(resultSchemas[method!].safeParse(r).error?.issues, `${at}: ${method} result ${JSON.stringify(r)}`).toBeUndefined();
            }
          }
          checkedReplies++;
        });
        expect(checkedReplies, `${t.name}: no reply or event was checked`).toBeGreaterThan(0);
        expect(checkedRequests + checkedReplies).toBeGreaterThan(1);
      });
    }
  }

  it('lists no stale HOST_CHECKED entries', () => {
    expect([...hostCheckedSeen].sort()).toEqual(Object.keys(HOST_CHECKED).sort());
  });
});

describe('hello features', () => {
  const hello = SAMPLE_RESULTS.hello as { features: Record<string, unknown> };
  it('skips kinds this client does not know and keeps the order of the rest', () => {
    const r = helloResultSchema.parse({ ...hello, features: { ...hello.features, shareKinds: ['nfs4', 'virtiofs', '9p'], channelKinds: ['carrier-pigeon'], diskFormats: ['qcow2', 'raw'] } });
    expect(r.features).toMatchObject({ shareKinds: ['virtiofs', '9p'], channelKinds: [], diskFormats: ['raw'] });
  });
  it('refuses an accelerator outside the closed set (main derives the guest console from it)', () => {
    expect(helloResultSchema.safeParse({ ...hello, features: { ...hello.features, accelerators: ['nvmm'] } }).success).toBe(false);
  });
});

describe('vmSpecSchema', () => {
  const spec = {
    name: 'viv-w1', arch: 'x86_64', kernel: '/g/vmlinux', initrd: '/v/initrd.img', cmdline: 'quiet', cpus: 2, memoryMiB: 512,
    shares: [{ tag: 'workspace', hostPath: '/home/me/p', readOnly: true }], channelPath: '/run/v/ssh.sock', consoleLog: '/v/console.log',
  };
  const issue = (s: unknown): string | undefined => {
    const r = vmSpecSchema.safeParse(s);
    return r.success ? undefined : `${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`;
  };
  it('accepts unix sockets and Windows pipe names as endpoints', () => {
    expect(issue(spec)).toBeUndefined();
    expect(issue({ ...spec, kernel: 'C:\\g\\vmlinux', channelPath: '\\\\.\\pipe\\vivarium-0123456789abcdef0123456789abcdef-ssh' })).toBeUndefined();
  });
  it('names the member that breaks a cross-member rule', () => {
    const ch = (name: string, path: string, guestPort: number) => ({ name, path, guestPort });
    expect(issue({ ...spec, dataChannels: [ch('egress', '/run/v/ssh.sock', 68664)] })).toBe('dataChannels.0.path: is the path of channelPath already');
    expect(issue({ ...spec, dataChannels: [ch('egress', '/run/v/e.sock', 22)] })).toBe('dataChannels.0.guestPort: is the guest port of the SSH channel already');
    expect(issue({ ...spec, dataChannels: [ch('a', '/run/v/a.sock', 5), ch('b', '/run/v/b.sock', 5)] })).toBe('dataChannels.1.guestPort: is the guest port of dataChannels[0] already');
    expect(issue({ ...spec, shares: [...spec.shares, { tag: 'workspace', hostPath: '/x', readOnly: false }] })).toBe('shares.1.tag: is used by shares[0].tag already');
    expect(issue({ ...spec, cmdline: 'quiet\nrm' })).toBe('cmdline: must not contain control characters');
  });
});
