import { describe, expect, it } from 'vitest';
import { UsageMeter } from './usage-meter.js';

const feed = (ct: string, chunks: string[]) => {
  const m = new UsageMeter(ct);
  for (const c of chunks) m.push(Buffer.from(c));
  return m.usage();
};

describe('UsageMeter', () => {
  it('reads Anthropic streaming usage (message_start, then cumulative message_delta) across chunk splits', () => {
    const body = [
      'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"usage"}}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":15}}\n\n',
    ].join('');
    expect(feed('text/event-stream', [body])).toEqual({ inputTokens: 25, outputTokens: 15 });
    expect(feed('text/event-stream; charset=utf-8', body.match(/[\s\S]{1,7}/g)!)).toEqual({ inputTokens: 25, outputTokens: 15 });
  });

  it('reads OpenAI Responses, Chat Completions and JSON bodies', () => {
    expect(feed('text/event-stream', ['data: {"type":"response.completed","response":{"usage":{"input_tokens":7,"output_tokens":9}}}\n\n'])).toEqual({ inputTokens: 7, outputTokens: 9 });
    expect(feed('text/event-stream', ['data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}\n\ndata: [DONE]\n\n'])).toEqual({ inputTokens: 3, outputTokens: 4 });
    expect(feed('application/json', ['{"usage":{"input_', 'tokens":5,"output_tokens":6}}'])).toEqual({ inputTokens: 5, outputTokens: 6 });
  });

  it('reports nothing for bodies without usage, broken JSON, or other content types', () => {
    expect(feed('application/json', ['{"error":{}}'])).toEqual({ inputTokens: null, outputTokens: null });
    expect(feed('text/event-stream', ['data: {not json\n\n', 'data: {"usage":{"input_tokens":-1}}\n\n'])).toEqual({ inputTokens: null, outputTokens: null });
    expect(feed('text/plain', ['{"usage":{"input_tokens":5}}'])).toEqual({ inputTokens: null, outputTokens: null });
  });
});
