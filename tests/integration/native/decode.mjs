// decode.mjs FILE - decodes a delimited io.prometheus.client.MetricFamily stream with
// protobufjs over metrics.proto and prints it as JSON: 64-bit integers as decimal
// strings, native buckets expanded from spans and deltas into {index: count} maps.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = await protobuf.load(path.join(here, "metrics.proto"));
const MetricFamily = root.lookupType("io.prometheus.client.MetricFamily");
const reader = protobuf.Reader.create(fs.readFileSync(process.argv[2]));

function expand(spans, deltas) {
  const out = {};
  let index = 0, k = 0, count = 0;
  spans.forEach((s, i) => {
    index += (s.offset || 0);
    for (let j = 0; j < (s.length || 0); j++, index++) {
      count += Number(deltas[k++]);
      if (count < 0) throw new Error("negative bucket count");
      if (count) out[index] = count;
    }
  });
  if (k !== deltas.length) throw new Error(`spans cover ${k} buckets, ${deltas.length} deltas`);
  return out;
}

const families = [];
while (reader.pos < reader.len) {
  const mf = MetricFamily.decodeDelimited(reader);
  const o = MetricFamily.toObject(mf, { longs: String, enums: String, defaults: false });
  for (const m of o.metric || []) {
    const h = m.histogram;
    if (h && h.schema !== undefined) {
      h.positive = expand(h.positiveSpan || [], h.positiveDelta || []);
      h.negative = expand(h.negativeSpan || [], h.negativeDelta || []);
    }
  }
  families.push(o);
}
process.stdout.write(JSON.stringify(families));
