/**
 * A stand-in for the Anthropic Messages API, for agent tests (the real API is unreachable
 * here): an HTTPS server on 127.0.0.1 that speaks the streaming format (SSE events
 * message_start → content blocks → message_delta → message_stop) and scripts one turn per
 * request: first a tool call (`tool_use`), then, once the request carries its tool_result, a
 * closing text. Non-streaming requests get a short text message; count_tokens a fixed count.
 * Every request is recorded with its headers. Not used by the app itself.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tool call the fake API makes the agent run. */
export interface ScriptedToolUse {
  name: string;
  input: Record<string, unknown>;
}

/** One request the fake API received. */
export interface FakeApiRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** The running fake API. */
export interface FakeMessagesApi {
  baseUrl: string;
  requests: FakeApiRequest[];
  close(): Promise<void>;
}

/** Starts the fake API with a TLS key/cert (e.g. from makeTestCertificate). */
export async function startFakeMessagesApi(tls: { key: string; cert: string }, tool: ScriptedToolUse, finalText = 'Done.'): Promise<FakeMessagesApi> {
  let n = 0;
  return startRecordingApi(tls, ({ body, path }, res) => {
    if (path === '/v1/messages/count_tokens') return json(res, { input_tokens: 10 });
    if (path !== '/v1/messages') return json(res, { type: 'error', error: { type: 'not_found_error', message: `no ${path}` } }, 404);
    const model = typeof body.model === 'string' ? body.model : 'claude-test';
    const afterTool = JSON.stringify(body.messages ?? []).includes('"tool_result"');
    if (body.stream !== true) {
      return json(res, { id: `msg_${++n}`, type: 'message', role: 'assistant', model, content: [{ type: 'text', text: finalText }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 2 } });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (event: string, data: Record<string, unknown>): boolean => res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
    send('message_start', { message: { id: `msg_${++n}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 50, output_tokens: 1 } } });
    if (afterTool) {
      send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: finalText } });
      send('content_block_stop', { index: 0 });
      send('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } });
    } else {
      const id = `toolu_${String(n).padStart(4, '0')}`;
      send('content_block_start', { index: 0, content_block: { type: 'tool_use', id, name: tool.name, input: {} } });
      send('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(tool.input) } });
      send('content_block_stop', { index: 0 });
      send('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } });
    }
    send('message_stop', {});
    res.end();
  });
}

/** An HTTPS server on 127.0.0.1 that records every request (body parsed as JSON, else {}) before `handle` answers it. */
async function startRecordingApi(
  tls: { key: string; cert: string },
  handle: (request: FakeApiRequest & { body: Record<string, unknown>; path: string }, res: ServerResponse) => void,
): Promise<FakeMessagesApi> {
  const requests: FakeApiRequest[] = [];
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(parts).toString() || '{}') as Record<string, unknown>;
      } catch {
        // recorded as {}
      }
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(request);
      handle({ ...request, path: request.url.split('?')[0] ?? '' }, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    baseUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: ServerResponse, value: unknown, status = 200): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * A stand-in for the OpenAI Responses API (Codex CLI), same rules as startFakeMessagesApi: the
 * first streamed request gets a call that runs `shellCommand`, in the form the request's tools
 * offer (found at any depth, namespaces included): Codex's code mode (the custom `exec` tool,
 * whose JavaScript calls `tools.exec_command({cmd})`), else a `shell`-like function tool (its
 * `command` an argv or a string as its schema says). The request carrying the tool's output
 * gets `finalText`. Events: response.created, response.output_item.done, response.completed.
 */
export async function startFakeResponsesApi(tls: { key: string; cert: string }, shellCommand: string, finalText = 'Done.'): Promise<FakeMessagesApi> {
  let n = 0;
  return startRecordingApi(tls, ({ body, path }, res) => {
    if (path !== '/v1/responses') return json(res, { error: { type: 'invalid_request_error', message: `no ${path}` } }, 404);
    const id = `resp_${++n}`;
    const afterTool = /"type":"(custom_tool|function)_call_output"/.test(JSON.stringify(body.input ?? []));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (data: Record<string, unknown>): boolean => res.write(`event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`);
    send({ type: 'response.created', response: { id } });
    if (afterTool) {
      send({ type: 'response.output_item.done', item: { type: 'message', role: 'assistant', id: `msg_${n}`, content: [{ type: 'output_text', text: finalText, annotations: [] }] } });
    } else {
      const tool = shellTool(body);
      if (tool.codeMode) {
        const input = `await tools.exec_command(${JSON.stringify({ cmd: shellCommand })});`;
        send({ type: 'response.output_item.done', item: { type: 'custom_tool_call', id: `ctc_${n}`, call_id: `call_${n}`, name: 'exec', input } });
      } else {
        const args = tool.argv ? { command: ['bash', '-lc', shellCommand] } : { command: shellCommand };
        send({ type: 'response.output_item.done', item: { type: 'function_call', id: `fc_${n}`, call_id: `call_${n}`, name: tool.name, arguments: JSON.stringify(args) } });
      }
    }
    send({ type: 'response.completed', response: { id, usage: { input_tokens: 30, output_tokens: afterTool ? 4 : 12, total_tokens: afterTool ? 34 : 42 } } });
    res.end();
  });
}

// How the request lets the model run a command: code mode, or a shell-like function tool.
function shellTool(body: unknown): { codeMode: boolean; name: string; argv: boolean } {
  const tools: Array<Record<string, unknown>> = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    const o = v as Record<string, unknown>;
    if (typeof o.name === 'string' && (o.type === 'function' || o.type === 'custom')) tools.push(o);
    Object.values(o).forEach((x) => walk(x, depth + 1));
  };
  walk(body, 0);
  if (tools.some((t) => t.type === 'custom' && t.name === 'exec')) return { codeMode: true, name: 'exec', argv: false };
  for (const name of ['shell', 'shell_command', 'exec_command']) {
    const t = tools.find((x) => x.name === name);
    if (!t) continue;
    const params = (t.parameters ?? {}) as { properties?: Record<string, { type?: string }> };
    return { codeMode: false, name, argv: params.properties?.command?.type === 'array' };
  }
  return { codeMode: false, name: 'shell', argv: true };
}
