// A client traced by the official OpenTelemetry JS SDK, for test_gateway_tracing.sh: each
// request to the gateway runs inside a CLIENT span ("chat <model>") of a NodeTracerProvider
// whose sampler is TraceIdRatioBasedSampler(RATIO); the SDK's W3C Trace Context propagator
// injects traceparent into the request headers, and the SDK's own OTLP/HTTP protobuf exporter
// (@opentelemetry/exporter-trace-otlp-proto) sends the spans to the test's receiver.
// Usage: node js_client.js GATEWAY_URL OTLP_ENDPOINT RATIO N MODEL
// Alternates whole and streamed chat completions; prints one JSON line per request:
// {traceId, spanId, sampled, traceparent, status, stream, outputTokens, responseId}.
'use strict';
const api = require('@opentelemetry/api');
const {W3CTraceContextPropagator} = require('@opentelemetry/core');
const {OTLPTraceExporter} = require('@opentelemetry/exporter-trace-otlp-proto');
const {Resource} = require('@opentelemetry/resources');
const {SimpleSpanProcessor, TraceIdRatioBasedSampler} = require('@opentelemetry/sdk-trace-base');
const {NodeTracerProvider} = require('@opentelemetry/sdk-trace-node');

const [gateway, endpoint, ratioArg, nArg, model] = process.argv.slice(2);
const provider = new NodeTracerProvider({
  sampler: new TraceIdRatioBasedSampler(Number(ratioArg)),
  resource: new Resource({'service.name': 'js-client'}),
});
provider.addSpanProcessor(new SimpleSpanProcessor(new OTLPTraceExporter({url: endpoint + '/v1/traces'})));
provider.register({propagator: new W3CTraceContextPropagator()});
const tracer = api.trace.getTracer('sonde-interop-client', '1.0.0');

async function chat(stream) {
  return tracer.startActiveSpan('chat ' + model, {kind: api.SpanKind.CLIENT}, async (span) => {
    const headers = {'Content-Type': 'application/json'};
    api.propagation.inject(api.context.active(), headers); // the SDK's W3C propagator
    const body = {model, messages: [{role: 'user', content: 'trace me please'}], max_tokens: 4};
    if (stream) Object.assign(body, {stream: true, stream_options: {include_usage: true}});
    const res = await fetch(gateway + '/v1/chat/completions',
                            {method: 'POST', headers, body: JSON.stringify(body)});
    const text = await res.text();
    let outputTokens = -1, responseId = '';
    if (stream) {
      if (!text.trimEnd().endsWith('data: [DONE]')) throw new Error('stream without [DONE]: ' + text);
      for (const line of text.split('\n')) {
        if (!line.startsWith('data: {')) continue;
        const ev = JSON.parse(line.slice(6));
        if (ev.usage) outputTokens = ev.usage.completion_tokens;
        responseId = responseId || ev.id || '';
      }
    } else if (res.status === 200) {
      const answer = JSON.parse(text);
      outputTokens = answer.usage.completion_tokens;
      responseId = answer.id;
    }
    span.setAttribute('http.response.status_code', res.status);
    span.end();
    const sc = span.spanContext();
    return {traceId: sc.traceId, spanId: sc.spanId,
            sampled: (sc.traceFlags & api.TraceFlags.SAMPLED) !== 0,
            traceparent: headers.traceparent || '', status: res.status, stream, outputTokens,
            responseId};
  });
}

(async () => {
  for (let i = 0; i < Number(nArg); i++) console.log(JSON.stringify(await chat(i % 2 === 1)));
  await provider.forceFlush();
  await provider.shutdown();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
