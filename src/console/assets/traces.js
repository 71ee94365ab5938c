// traces.js - the spans the tracer still holds: recent, slowest and erroring ones (per
// span name) at #/traces, and one trace's waterfall at #/traces/<trace id>: the spans as
// a tree in time, each row opening its attributes, events and status. Times arrive as
// decimal nanosecond strings and are handled with BigInt.
import { get } from './api.js';
import { el, clear, fmt, notice, traceLink, nsToDate, timeText } from './dom.js';

const KINDS = [['recent', 'Recent'], ['slowest', 'Slowest'], ['errors', 'Erroring']];

function tracingOff(root) {
  root.append(notice('Tracing is off: this process gave the console no tracer, so there are no spans to show.', 'off'));
}

function statusCell(s) {
  return el('span', { class: 'status status-' + String(s.status).toLowerCase() },
    s.status + (s.status_message ? ': ' + s.status_message : ''));
}

function list(root) {
  let kind = 'recent';
  const name = el('input', { type: 'search', name: 'name', placeholder: 'span name (exact)', });
  const tabs = el('div', { class: 'tabs' });
  const table = el('div');
  root.append(el('h1', {}, 'Traces'), tabs, el('p', {}, name), table);
  let timer = null, alive = true;
  function tabButtons() {
    clear(tabs).append(...KINDS.map(([k, t]) => el('button', {
      type: 'button', class: k === kind ? 'active' : '', 'data-kind': k,
      onclick: () => { kind = k; tabButtons(); load(); },
    }, t)));
  }
  async function load() {
    clearTimeout(timer);
    try {
      const a = await get('traces', { kind, name: name.value || undefined });
      if (!alive) return;
      clear(table);
      if (a.tracing === false) return tracingOff(table);
      if (!a.spans.length) table.append(el('p', { class: 'muted' }, 'No spans yet.'));
      else table.append(el('table', { class: 'data spans' },
        el('thead', {}, el('tr', {}, ['start', 'name', 'kind', 'duration', 'status', 'trace'].map((h) => el('th', {}, h)))),
        el('tbody', {}, a.spans.map((s) => el('tr', {},
          el('td', {}, timeText(nsToDate(s.start_unix_ns))),
          el('td', {}, el('a', { href: '#', onclick: (e) => { e.preventDefault(); name.value = s.name; load(); } }, s.name)),
          el('td', {}, s.kind), el('td', { class: 'num' }, fmt(s.duration_ms, 'ms')),
          el('td', {}, statusCell(s)), el('td', {}, traceLink(s.trace_id)))))));
      if (a.truncated) table.append(notice('Only the first ' + a.spans.length + ' spans are shown.'));
    } catch (e) {
      if (alive) clear(table).append(notice(e.message, 'error'));
    }
    if (alive) timer = setTimeout(load, 5000);
  }
  name.addEventListener('change', load);
  tabButtons();
  load();
  return () => { alive = false; clearTimeout(timer); };
}

function attrTable(attrs) {
  const keys = Object.keys(attrs || {}).sort();
  if (!keys.length) return el('p', { class: 'muted' }, 'no attributes');
  return el('table', { class: 'data attrs' }, el('tbody', {}, keys.map((k) =>
    el('tr', {}, el('td', { class: 'key' }, k), el('td', {}, typeof attrs[k] === 'string' ? attrs[k] : JSON.stringify(attrs[k]))))));
}

function details(s, t0) {
  return el('div', { class: 'span-details' },
    el('p', {}, 'span ', el('code', {}, s.span_id), ' \u00b7 parent ', el('code', {}, s.parent_span_id || '(root)'),
      ' \u00b7 kind ' + s.kind + ' \u00b7 status ', statusCell(s)),
    el('h3', {}, 'Attributes'), attrTable(s.attributes),
    el('h3', {}, 'Events'), (s.events || []).length
      ? el('ul', { class: 'events' }, s.events.map((ev) => el('li', {},
        el('span', { class: 'muted' }, '+' + fmt(Number(BigInt(ev.time_unix_ns) - t0) / 1e6, 'ms') + ' '),
        el('strong', {}, ev.name), attrTable(ev.attributes))))
      : el('p', { class: 'muted' }, 'no events'));
}

// Spans in tree order (children after their parent, by start), with their depth.
function treeOrder(spans) {
  const ids = new Set(spans.map((s) => s.span_id));
  const kids = new Map();
  spans.forEach((s) => {
    const p = s.parent_span_id && ids.has(s.parent_span_id) ? s.parent_span_id : '';
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(s);
  });
  const byStart = (a, b) => (BigInt(a.start_unix_ns) < BigInt(b.start_unix_ns) ? -1 : 1);
  const out = [];
  const walk = (p, depth) => (kids.get(p) || []).sort(byStart).forEach((s) => {
    out.push([s, depth]);
    walk(s.span_id, depth + 1);
  });
  walk('', 0);
  return out;
}

function waterfall(root, id) {
  root.append(el('h1', {}, 'Trace ', el('code', {}, id)), el('p', {}, el('a', { href: '#/traces' }, '\u2190 traces'),
    ' \u00b7 ', el('a', { href: '#/logs?trace_id=' + encodeURIComponent(id), class: 'trace-logs' }, 'logs of this trace')));
  const box = el('div', { class: 'waterfall' });
  root.append(box);
  get('traces/' + encodeURIComponent(id)).then((t) => {
    if (t.tracing === false) return tracingOff(box);
    if (!t.spans.length) return box.append(notice('The tracer holds no span of this trace (any more).'));
    const t0 = t.spans.reduce((m, s) => (BigInt(s.start_unix_ns) < m ? BigInt(s.start_unix_ns) : m), BigInt(t.spans[0].start_unix_ns));
    const total = Math.max(...t.spans.map((s) => Number(BigInt(s.start_unix_ns) - t0) / 1e6 + s.duration_ms), 1e-3);
    box.append(el('p', { class: 'muted' }, t.spans.length + ' spans over ' + fmt(total, 'ms') + ', from ' + timeText(nsToDate(t0.toString()))));
    for (const [s, depth] of treeOrder(t.spans)) {
      const off = Number(BigInt(s.start_unix_ns) - t0) / 1e6;
      const bar = el('div', { class: 'bar status-' + String(s.status).toLowerCase() });
      bar.style.left = (100 * off / total).toFixed(3) + '%';
      bar.style.width = Math.max(0.2, 100 * s.duration_ms / total).toFixed(3) + '%';
      const label = el('div', { class: 'span-name' }, s.name);
      label.style.paddingLeft = (depth * 14) + 'px';
      const more = details(s, t0);
      more.hidden = true;
      const row = el('div', { class: 'span-row', 'data-span-id': s.span_id, 'data-span-name': s.name },
        el('div', { class: 'span-head', onclick: () => { more.hidden = !more.hidden; } },
          label, el('div', { class: 'track' }, bar), el('div', { class: 'span-dur num' }, fmt(s.duration_ms, 'ms'))),
        more);
      box.append(row);
    }
    root.dataset.spans = String(t.spans.length);
  }).catch((e) => box.append(notice(e.message, 'error')));
}

export function render(root, ctx) {
  if (ctx.status && ctx.status.tracing === false) return tracingOff(root);
  if (ctx.arg) return waterfall(root, ctx.arg);
  return list(root);
}

