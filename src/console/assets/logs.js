// logs.js - the log records the logger still holds: filtered by level, text and trace id
// (#/logs?trace_id=... arrives here from a link), followed live with an EventSource on
// /console/api/logs/stream. That endpoint answers the records after Last-Event-ID and
// ends; EventSource reconnects (the server's "retry: 1000") with the last id it saw, so
// the tail costs no server thread. Newest records first, at most 500 kept on the page.
import { get, streamUrl } from './api.js';
import { el, clear, notice, traceLink, nsToDate, timeText } from './dom.js';

const LEVELS = ['', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const KEEP = 500;

function fieldsText(fields) {
  const keys = Object.keys(fields || {});
  return keys.map((k) => k + '=' + (typeof fields[k] === 'string' ? fields[k] : JSON.stringify(fields[k]))).join('  ');
}

function row(r) {
  return el('tr', { class: 'log level-' + r.level, 'data-seq': r.seq, 'data-trace-id': r.trace_id || '' },
    el('td', { class: 'time' }, timeText(nsToDate(r.time_unix_ns))),
    el('td', { class: 'level' }, r.level),
    el('td', { class: 'msg' }, r.msg, r.fields && Object.keys(r.fields).length
      ? el('span', { class: 'fields' }, '  ' + fieldsText(r.fields)) : null),
    el('td', {}, r.trace_id ? traceLink(r.trace_id) : ''));
}

export function render(root, ctx) {
  if (ctx.status && ctx.status.logging === false) {
    root.append(el('h1', {}, 'Logs'),
      notice('Logging is off: this process gave the console no logger, so there are no records to show.', 'off'));
    return null;
  }
  const init = ctx.query;
  const form = el('form', { class: 'controls' },
    el('label', {}, 'level \u2265 ', el('select', { name: 'level' }, LEVELS.map((l) =>
      el('option', { value: l, selected: l === (init.get('level') || '') }, l || 'any')))),
    el('label', {}, 'text ', el('input', { type: 'search', name: 'q', value: init.get('q') || '' })),
    el('label', {}, 'trace id ', el('input', { type: 'search', name: 'trace_id', value: init.get('trace_id') || '', size: 34 })),
    el('button', { type: 'submit' }, 'Filter'));
  const state = el('span', { class: 'muted tail-state' });
  const body = el('tbody');
  const err = el('div');
  root.append(el('h1', {}, 'Logs'), form, el('p', {}, state), err,
    el('table', { class: 'data logs' }, el('thead', {}, el('tr', {},
      ['time', 'level', 'message', 'trace'].map((h) => el('th', {}, h)))), body));
  let source = null;

  function filters() {
    const f = new FormData(form);
    const v = (x) => (x ? x : undefined);
    return { level: v(f.get('level')), q: v(f.get('q')), trace_id: v(f.get('trace_id').trim()) };
  }
  function add(records) {
    for (const r of records) body.insertBefore(row(r), body.firstChild);
    while (body.childNodes.length > KEEP) body.removeChild(body.lastChild);
    root.dataset.records = String(body.childNodes.length);
  }
  async function start() {
    if (source) source.close();
    source = null;
    clear(body);
    clear(err);
    const f = filters();
    try {
      const a = await get('logs', { ...f, limit: 200 });
      if (a.logging === false) return err.append(notice('Logging is off.', 'off'));
      add(a.records);
      const s = new EventSource(streamUrl('logs/stream', { ...f, after: a.last_seq }));
      source = s;
      s.addEventListener('log', (ev) => add([JSON.parse(ev.data)]));
      s.addEventListener('open', () => { state.textContent = 'live'; });
      s.addEventListener('error', () => { state.textContent = 'following (reconnecting each second)'; });
      state.textContent = 'live';
    } catch (e) {
      err.append(notice(e.message, 'error'));
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); start(); });
  form.addEventListener('change', start);
  start();
  return () => { if (source) source.close(); };
}
