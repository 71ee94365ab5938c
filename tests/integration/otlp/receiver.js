// An OTLP/HTTP receiver for the tests: decodes every POST to /v1/traces, /v1/logs and
// /v1/metrics with the official OTLP protobuf definitions (the generated ones
// @opentelemetry/otlp-transformer ships) and appends one JSON line per request to the output
// file: the path, the status it answered, the request's Content-Type, Content-Encoding,
// x-api-key and x-tenant headers, and the decoded message (ids as lowercase hex, 64-bit
// numbers as strings).
// Usage: node receiver.js PORT OUT [ANSWERS] [PARTIAL] [DELAY_MS]
//   ANSWERS  comma-separated statuses for the first requests (e.g. 503,200); then 200.
//            "503r" answers 503 with Retry-After: 1.
//   PARTIAL  a rejected count: every 200 carries a partial success with that many rejected.
//   DELAY_MS a slow receiver: each answer leaves that long after its request arrived (the
//            request is recorded as soon as it has been read).
'use strict';
const http = require('http');
const fs = require('fs');
const zlib = require('zlib');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');

const [port, out, answersArg, partialArg, delayArg] = process.argv.slice(2);
const delay = Number(delayArg || 0);
const answers = (answersArg || '').split(',').filter(Boolean);
const partial = Number(partialArg || 0);
const proto = root.opentelemetry.proto.collector;
const kinds = {
  '/v1/traces': [proto.trace.v1.ExportTraceServiceRequest, proto.trace.v1.ExportTraceServiceResponse,
                 'rejectedSpans'],
  '/v1/logs': [proto.logs.v1.ExportLogsServiceRequest, proto.logs.v1.ExportLogsServiceResponse,
               'rejectedLogRecords'],
  '/v1/metrics': [proto.metrics.v1.ExportMetricsServiceRequest,
                  proto.metrics.v1.ExportMetricsServiceResponse, 'rejectedDataPoints'],
};
// JSON.stringify turns Buffers into {type, data}: write them as hex instead.
const hexBuffers = (k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data)
  ? Buffer.from(v.data).toString('hex') : v);

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = Buffer.concat(chunks);
    const kind = kinds[req.url];
    const record = {path: req.url, contentType: req.headers['content-type'] || '',
                    contentEncoding: req.headers['content-encoding'] || '',
                    apiKey: req.headers['x-api-key'] || '', tenant: req.headers['x-tenant'] || ''};
    let status = 200;
    const planned = answers.shift();
    if (planned) status = parseInt(planned, 10);
    try {
      if (!kind) throw new Error('unknown path ' + req.url);
      if (record.contentEncoding === 'gzip') body = zlib.gunzipSync(body);
      const msg = kind[0].decode(body);
      record.message = kind[0].toObject(msg, {longs: String, enums: Number, defaults: false});
    } catch (e) {
      record.error = String(e);
      status = 400;
    }
    record.status = status;
    fs.appendFileSync(out, JSON.stringify(record, hexBuffers) + '\n');
    setTimeout(() => answer(res, status, planned, kind), delay);
  });
});
function answer(res, status, planned, kind) {
  const headers = {'Content-Type': 'application/x-protobuf'};
  if (planned && planned.endsWith('r')) headers['Retry-After'] = '1';
  res.writeHead(status, headers);
  if (status === 200 && kind) {
    const reply = partial > 0
      ? {partialSuccess: {[kind[2]]: partial, errorMessage: 'too many attributes'}} : {};
    res.end(Buffer.from(kind[1].encode(kind[1].fromObject(reply)).finish()));
  } else {
    res.end(status === 400 ? 'bad request: malformed export' : 'unavailable');
  }
}
server.listen(Number(port), '127.0.0.1', () => fs.writeFileSync(out + '.ready', 'ok'));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections(); // a slow receiver's pending answers too
});
