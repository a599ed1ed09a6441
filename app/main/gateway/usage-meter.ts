/**
 * Token usage read from responses as they stream past, for the audit log. Understands JSON
 * bodies and server-sent events of both APIs: Anthropic's `usage` (input_tokens, output_tokens;
 * message_start then cumulative message_delta) and OpenAI's (input/output_tokens in Responses,
 * prompt/completion_tokens in Chat Completions). Unknown shapes are ignored, never an error.
 */

/** Tokens a response reported; null when it reported none. */
export interface TokenUsage {
  inputTokens: number | null;
  outputTokens: number | null;
}

// Bytes of a JSON body kept to read usage from; larger bodies are passed through unread.
const MAX_JSON_BYTES = 4 * 1024 * 1024;
// Longest SSE line kept while waiting for its end (a line longer than this is skipped).
const MAX_LINE_BYTES = 1024 * 1024;

/** Watches one response body. Feed every chunk to `push`, then read `usage()`. */
export class UsageMeter {
  private readonly sse: boolean;
  private readonly json: boolean;
  private pending = '';
  private skippingLine = false;
  private jsonParts: Buffer[] = [];
  private jsonBytes = 0;
  private input: number | null = null;
  private output: number | null = null;

  constructor(contentType: string | undefined) {
    const ct = (contentType ?? '').toLowerCase();
    this.sse = ct.includes('text/event-stream');
    this.json = !this.sse && ct.includes('json');
  }

  /** Takes the next chunk of the body (as it is sent on, unchanged). */
  push(chunk: Buffer): void {
    if (this.sse) this.pushSse(chunk.toString('utf8'));
    else if (this.json && this.jsonBytes <= MAX_JSON_BYTES) {
      this.jsonBytes += chunk.length;
      if (this.jsonBytes <= MAX_JSON_BYTES) this.jsonParts.push(chunk);
      else this.jsonParts = [];
    }
  }

  /** The usage seen so far (call after the body ended for the final figure). */
  usage(): TokenUsage {
    if (this.json && this.jsonParts.length > 0) {
      this.readEvent(Buffer.concat(this.jsonParts).toString('utf8'));
      this.jsonParts = [];
    }
    if (this.sse && this.pending.startsWith('data:')) {
      this.readEvent(this.pending.slice(5));
      this.pending = '';
    }
    return { inputTokens: this.input, outputTokens: this.output };
  }

  private pushSse(text: string): void {
    let rest = this.pending + text;
    for (;;) {
      const nl = rest.indexOf('\n');
      if (nl < 0) break;
      const line = rest.slice(0, nl).replace(/\r$/, '');
      rest = rest.slice(nl + 1);
      if (this.skippingLine) {
        this.skippingLine = false;
        continue;
      }
      if (line.startsWith('data:')) this.readEvent(line.slice(5));
    }
    if (rest.length > MAX_LINE_BYTES) {
      rest = '';
      this.skippingLine = true;
    }
    this.pending = rest;
  }

  private readEvent(data: string): void {
    const trimmed = data.trim();
    if (!trimmed.startsWith('{')) return;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      return;
    }
    this.collect(value, 0);
  }

  // Looks for `usage` objects a few levels down (message.usage, response.usage, usage).
  private collect(value: unknown, depth: number): void {
    if (depth > 3 || value === null || typeof value !== 'object' || Array.isArray(value)) return;
    const obj = value as Record<string, unknown>;
    const usage = obj.usage;
    if (usage && typeof usage === 'object') {
      const u = usage as Record<string, unknown>;
      this.input = maxOf(this.input, num(u.input_tokens) ?? num(u.prompt_tokens));
      this.output = maxOf(this.output, num(u.output_tokens) ?? num(u.completion_tokens));
    }
    for (const key of ['message', 'response']) if (key in obj) this.collect(obj[key], depth + 1);
  }
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

// Anthropic repeats usage cumulatively; the largest figure seen is the total.
function maxOf(a: number | null, b: number | null): number | null {
  if (b === null) return a;
  return a === null ? b : Math.max(a, b);
}
