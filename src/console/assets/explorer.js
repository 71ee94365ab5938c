// explorer.js - the metrics explorer: search the families, open one (#/explorer/<family>),
// narrow its series with one select per label, chart it (counters as rates, gauges as
// values, histograms as quantiles or a heatmap, optionally summed by a label), see its
// exemplars (each a link to its trace) and the current values of every series.
// Opening a family starts its history (the API records it from the first query on).
import { get } from './api.js';
import { el, clear, fmt, labelText, notice, traceLink, timeText } from './dom.js';
import { drawLines, drawHeatmap, querySeries } from './chart.js';

function fnChoices(type) {
  if (type === 'histogram') return ['quantile', 'heatmap', 'rate'];
  if (type === 'counter') return ['rate', 'value'];
  return ['value', 'rate'];
}

function select(name, options, value) {
  return el('select', { name }, options.map(([v, text]) =>
    el('option', { value: v, selected: v === value }, text)));
}

function familyList(box, q) {
  get('families', { q: q || undefined }).then((a) => {
    clear(box).append(el('ul', { class: 'families' }, a.families.map((f) =>
      el('li', {}, el('a', { href: '#/explorer/' + encodeURIComponent(f.name), class: 'family' }, f.name),
        el('span', { class: 'muted' }, ' ' + f.type + ' \u00b7 ' + f.series + ' series'
          + (f.recorded ? ' \u00b7 recorded' : '')),
        f.help ? el('div', { class: 'help' }, f.help) : null))));
    if (a.truncated) box.append(notice('More families match: narrow the search.'));
  }).catch((e) => clear(box).append(notice(e.message, 'error')));
}

function currentTable(ans) {
  const hist = ans.type === 'histogram';
  return el('table', { class: 'data current' },
    el('thead', {}, el('tr', {}, el('th', {}, 'labels'),
      hist ? [el('th', {}, 'count'), el('th', {}, 'sum')] : el('th', {}, 'value'))),
    el('tbody', {}, ans.series.map((s) => el('tr', {}, el('td', { class: 'labels' }, labelText(s.labels)),
      hist ? [el('td', { class: 'num' }, fmt(s.count)), el('td', { class: 'num' }, fmt(s.sum))]
        : el('td', { class: 'num' }, fmt(s.value))))));
}

function exemplarTable(exemplars) {
  if (!exemplars.length) return el('p', { class: 'muted' }, 'No exemplars in this range.');
  return el('table', { class: 'data exemplars' },
    el('thead', {}, el('tr', {}, el('th', {}, 'time'), el('th', {}, 'value'), el('th', {}, 'trace'), el('th', {}, 'labels'))),
    el('tbody', {}, exemplars.slice(-50).reverse().map((e) => el('tr', {},
      el('td', {}, timeText(new Date(e.t))), el('td', { class: 'num' }, fmt(e.value)),
      el('td', {}, e.trace_id ? traceLink(e.trace_id) : '-'), el('td', { class: 'labels' }, labelText(e.labels))))));
}

function familyView(root, name) {
  const controls = el('form', { class: 'controls' });
  const chart = el('div', { class: 'chart', 'data-chart': name });
  const exemplars = el('div');
  const current = el('div');
  const err = el('div');
  root.append(el('h1', {}, name), el('p', {}, el('a', { href: '#/explorer' }, '\u2190 all families')),
    err, controls, chart, el('h2', {}, 'Exemplars'), exemplars, el('h2', {}, 'Current values'), current);
  let timer = null, alive = true;

  function params() {
    const f = new FormData(controls);
    const match = [];
    for (const [k, v] of f.entries()) if (k.startsWith('label:') && v !== '') match.push(k.slice(6) + '=' + v);
    const fn = f.get('fn');
    // a heatmap is one grid: without a "sum by" it sums every series (by=)
    return { family: name, fn, q: fn === 'quantile' ? f.get('q') : undefined,
      by: f.get('by') || (fn === 'heatmap' ? '' : undefined), range: f.get('range'), match };
  }

  async function draw(ev) {
    clearTimeout(timer);
    // the periodic refresh waits while the pointer is on the chart (a point being
    // clicked must not move); a change of the controls redraws at once
    if (!ev && chart.matches(':hover')) {
      timer = setTimeout(draw, 1000);
      return;
    }
    try {
      const p = params();
      const ans = await get('query', p);
      if (!alive) return;
      if (p.fn === 'heatmap') {
        const s = ans.series[0] || { points: [] };
        drawHeatmap(chart, s.points.map((x) => x[0]), ans.buckets || [], s.points.map((x) => x[1] || []));
      } else {
        drawLines(chart, querySeries(ans), { exemplars: ans.exemplars || [] });
      }
      clear(exemplars).append(exemplarTable(ans.exemplars || []));
      const cur = await get('series', { family: name });
      if (!alive) return;
      clear(current).append(currentTable(cur));
      clear(err);
      root.dataset.drawn = String((Number(root.dataset.drawn) || 0) + 1);
    } catch (e) {
      if (alive) clear(err).append(notice(e.message, 'error'));
    }
    if (alive) timer = setTimeout(() => draw(), 5000);
  }

  get('series', { family: name }).then((ans) => {
    const keys = [...new Set(ans.series.flatMap((s) => Object.keys(s.labels)))].sort();
    const fns = fnChoices(ans.type);
    controls.append(
      el('label', {}, 'show ', select('fn', fns.map((f) => [f, f]), fns[0])),
      el('label', {}, 'quantile ', select('q', [['0.5', 'p50'], ['0.9', 'p90'], ['0.95', 'p95'], ['0.99', 'p99']], '0.95')),
      el('label', {}, 'sum by ', select('by', [['', '(all series apart)'], ...keys.map((k) => [k, k])], '')),
      el('label', {}, 'range ', select('range', [['300', '5 min'], ['900', '15 min'], ['3600', '1 hour']], '900')),
      ...keys.map((k) => {
        const values = [...new Set(ans.series.map((s) => s.labels[k]).filter((v) => v !== undefined))].sort();
        return el('label', {}, k + ' ', select('label:' + k, [['', 'any'], ...values.map((v) => [v, v])], ''));
      }));
    controls.addEventListener('change', draw);
    controls.addEventListener('submit', (e) => { e.preventDefault(); draw(e); });
    draw({});
  }).catch((e) => clear(err).append(notice(e.message, 'error')));

  return () => { alive = false; clearTimeout(timer); if (chart.sondeChart) chart.sondeChart.graph.destroy(); };
}

export function render(root, ctx) {
  if (ctx.arg) return familyView(root, ctx.arg);
  const search = el('input', { type: 'search', name: 'q', placeholder: 'search families', autofocus: true });
  const list = el('div');
  root.append(el('h1', {}, 'Metrics'), el('p', {}, search), list);
  let t = null;
  search.addEventListener('input', () => { clearTimeout(t); t = setTimeout(() => familyList(list, search.value), 200); });
  familyList(list, '');
  return () => clearTimeout(t);
}
