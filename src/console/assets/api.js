// api.js - the console's JSON API (/console/api/, docs/console.md). get() returns the
// parsed answer or throws an Error carrying the API's message; params are encoded
// with URLSearchParams (an array value repeats the parameter, as "match" needs; an
// undefined or null value is left out, an empty string is sent: "by=" means "sum all").
const BASE = '/console/api/';

export async function get(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const qs = q.toString();
  const r = await fetch(BASE + path + (qs ? '?' + qs : ''), { headers: { Accept: 'application/json' } });
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    throw new Error(path + ': HTTP ' + r.status + ' (not JSON)');
  }
  if (!r.ok) throw new Error(path + ': ' + ((body && body.error && body.error.message) || 'HTTP ' + r.status));
  return body;
}

export function streamUrl(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v) q.append(k, String(v));
  const qs = q.toString();
  return BASE + path + (qs ? '?' + qs : '');
}
