// server.mjs - an MCP server built with the official MCP TypeScript SDK
// (@modelcontextprotocol/sdk, streamable HTTP transport, stateful sessions) for
// tests/integration/test_gateway_mcp.sh and the agent workload of scripts/demo.sh.
// Two tools, each recording its calls (the last 1000, so a long demo stays small):
//   add {a, b}      -> "sum=<a+b>"
//   lookup {key}    -> "value of <key>"; key "missing" is a tool error (isError)
// GET /calls answers the record [{tool, args, session, xtest (the X-Test header)}] as JSON.
// Usage: node server.mjs PORT [json]   ("json": answers as JSON, else SSE streams)
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const port = Number(process.argv[2]);
const jsonAnswers = process.argv[3] === 'json';
const calls = [];
const CALLS_KEPT = 1000;
function record(call) {
  if (calls.length === CALLS_KEPT) calls.shift();
  calls.push(call);
}
const transports = {};

function newServer() {
  const server = new McpServer({ name: 'sonde-test-tools', version: '1.0.0' });
  server.registerTool('add', {
    description: 'Add two numbers',
    inputSchema: { a: z.number(), b: z.number() },
  }, async ({ a, b }, extra) => {
    record({ tool: 'add', args: { a, b }, session: extra.sessionId, xtest: extra.requestInfo?.headers?.['x-test'] ?? null });
    return { content: [{ type: 'text', text: `sum=${a + b}` }] };
  });
  server.registerTool('lookup', {
    description: 'Look a key up',
    inputSchema: { key: z.string() },
  }, async ({ key }, extra) => {
    record({ tool: 'lookup', args: { key }, session: extra.sessionId, xtest: extra.requestInfo?.headers?.['x-test'] ?? null });
    if (key === 'missing') return { isError: true, content: [{ type: 'text', text: `no such key: ${key}` }] };
    return { content: [{ type: 'text', text: `value of ${key}` }] };
  });
  return server;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

http.createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/calls') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(calls));
      return;
    }
    if (req.url !== '/mcp') { res.writeHead(404).end(); return; }
    const text = req.method === 'POST' ? await readBody(req) : '';
    const body = text ? JSON.parse(text) : undefined;
    const sid = req.headers['mcp-session-id'];
    let transport = sid ? transports[sid] : undefined;
    if (!transport) {
      if (sid || req.method !== 'POST' || !isInitializeRequest(body)) {
        res.writeHead(sid ? 404 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'no valid session' }, id: null }));
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: jsonAnswers,
        onsessioninitialized: (id) => { transports[id] = transport; },
      });
      await newServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  } catch (e) {
    if (!res.headersSent) res.writeHead(500).end(String(e));
  }
}).listen(port, '127.0.0.1', () => console.log(`mcp server on ${port} (${jsonAnswers ? 'json' : 'sse'})`));
