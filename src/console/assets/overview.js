// overview.js - the LLM service at a glance: the numbers of /console/api/overview
// (requests/s, error ratio, TTFT and TPOT quantiles, tokens/s by model and type, cost
// per hour, streams and calls in flight, rate-limit rejections) and charts of the
// same series over the last 15 minutes from /console/api/query; refreshed every 5 s.
import { get } from './api.js';
import { el, clear, fmt, fmtSeconds, notice } from './dom.js';
import { drawLines, querySeries } from './chart.js';

const RANGE = 900;
// Each chart names its family as the overview API does: the GenAI families exactly, the
// service's by suffix (the host's prefix comes first: "gateway_provider_calls").
const CHARTS = [
  { title: 'Provider calls per second by status', family: 'provider_calls', query: { fn: 'rate', by: 'status' } },
  { title: 'Time to first token (all models)', family: 'gen_ai_server_time_to_first_token_seconds', quantiles: true },
  { title: 'Time per output token (all models)', family: 'gen_ai_server_time_per_output_token_seconds', quantiles: true },
  { title: 'Tokens per second by type', family: 'tokens', query: { fn: 'rate', by: 'type' } },
  { title: 'Streams in flight', family: 'streams_in_flight', query: { fn: 'value' } },
];

function familyOf(families, entry) {
  return (families || []).find((f) => f === entry || f.endsWith('_' + entry));
}

function card(id, title, value) {
  return el('div', { class: 'card', 'data-metric': id }, el('div', { class: 'card-title' }, title),
    el('div', { class: 'card-value' }, value));
}

function cards(o) {
  const q = (x) => x || {};
  return [
    card('requests_per_second', 'Requests / s', fmt(o.requests_per_second)),
    card('error_ratio', 'Error ratio', o.error_ratio === null ? '-' : fmt(o.error_ratio * 100, '%')),
    card('ttft', 'TTFT p50 / p95 / p99', [q(o.ttft).p50, q(o.ttft).p95, q(o.ttft).p99].map(fmtSeconds).join(' / ')),
    card('tpot', 'TPOT p50 / p95 / p99', [q(o.tpot).p50, q(o.tpot).p95, q(o.tpot).p99].map(fmtSeconds).join(' / ')),
    card('cost_per_hour', 'Cost / hour', fmt(o.cost_per_hour)),
    card('streams_in_flight', 'Streams in flight', fmt(o.streams_in_flight)),
    card('calls_in_flight', 'Calls in flight', fmt(o.calls_in_flight)),
    card('rate_limit_rejections_per_second', 'Rate-limit rejections / s', fmt(o.rate_limit_rejections_per_second)),
  ];
}

function tokensTable(rows) {
  return el('table', { class: 'data tokens' },
    el('thead', {}, el('tr', {}, el('th', {}, 'model'), el('th', {}, 'type'), el('th', {}, 'tokens / s'))),
    el('tbody', {}, (rows || []).map((r) =>
      el('tr', {}, el('td', {}, r.model), el('td', {}, r.type), el('td', { class: 'num' }, fmt(r.value))))));
}

async function chartData(c, family) {
  if (c.query) return querySeries(await get('query', { ...c.query, family, range: RANGE }));
  const all = await Promise.all([0.5, 0.95, 0.99].map((q) =>
    get('query', { family, fn: 'quantile', q, by: '', range: RANGE }))); // by='': all series summed
  return all.flatMap((a, i) => querySeries(a).map((s) => ({ ...s, name: ['p50', 'p95', 'p99'][i] })));
}

export function render(root) {
  const numbers = el('div', { class: 'cards' });
  const tokens = el('div', { class: 'tokens-box' });
  const charts = CHARTS.map((c) => ({ c, box: el('div', { class: 'chart', 'data-chart': c.title }) }));
  const err = el('div');
  root.append(el('h1', {}, 'Overview'), err, numbers, el('h2', {}, 'Tokens per second by model and type'),
    tokens, el('div', { class: 'charts' },
      charts.map(({ c, box }) => el('div', { class: 'panel' }, el('h2', {}, c.title), box))));
  let timer = null, alive = true;
  async function refresh() {
    try {
      const o = await get('overview');
      if (!alive) return;
      clear(numbers).append(...cards(o));
      clear(tokens).append(tokensTable(o.tokens_per_second));
      root.dataset.t = String(o.t);
      for (const { c, box } of charts) {
        const family = familyOf(o.families, c.family);
        if (!family) {
          clear(box).append(el('p', { class: 'muted' }, 'This process has no ' + c.family + ' metric.'));
          continue;
        }
        const s = await chartData(c, family);
        if (!alive) return;
        drawLines(box, s, { includeZero: true, height: 180 });
      }
      clear(err);
      root.dataset.refreshed = String((Number(root.dataset.refreshed) || 0) + 1);
    } catch (e) {
      if (alive) clear(err).append(notice(e.message, 'error'));
    }
    if (alive) timer = setTimeout(refresh, 5000);
  }
  refresh();
  return () => { alive = false; clearTimeout(timer); };
}
