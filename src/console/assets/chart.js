// chart.js - time series charts on dygraphs (Debian libjs-dygraphs, embedded with the
// pages), and the histogram heatmap on a plain canvas (dygraphs has no heatmap).
// Series names never reach dygraphs: it gets the neutral labels s0, s1, ... and our own
// legend (DOM text) names the series, so hostile label values cannot become markup.
// Exemplars are one more series drawn as points only; clicking one opens its trace.
// The container keeps its chart as container.sondeChart (graph, exemplars), which the
// browser tests use to find where a point is drawn.
import { el, clear, labelText, fmt } from './dom.js';

// dygraphs' legend plugin sets style attributes (setAttribute("style")), which the CSP
// refuses; the console draws its own legend, so the plugin is left out of every chart.
Dygraph.PLUGINS = Dygraph.PLUGINS.filter((p) => p !== Dygraph.Plugins.Legend);

const COLORS = ['#2f6fdf', '#e0662b', '#1c9a5a', '#b03ab8', '#c9a227', '#11a3b5', '#d9405a', '#6f7a8a'];

// series: [{name, points: [[t_ms, v|null], ...]}]; exemplars: [{t, value, trace_id}]
export function drawLines(container, series, opts) {
  opts = opts || {};
  const exemplars = opts.exemplars || [];
  const times = new Set();
  series.forEach((s) => s.points.forEach((p) => times.add(p[0])));
  exemplars.forEach((e) => times.add(e.t));
  const sorted = [...times].sort((a, b) => a - b);
  const index = new Map(sorted.map((t, i) => [t, i]));
  const width = series.length + (exemplars.length ? 1 : 0);
  const rows = sorted.map((t) => [new Date(t), ...new Array(width).fill(null)]);
  series.forEach((s, i) => s.points.forEach(([t, v]) => { rows[index.get(t)][i + 1] = v; }));
  exemplars.forEach((e) => { rows[index.get(e.t)][width] = e.value; });

  const old = container.sondeChart;
  if (old) old.graph.destroy();
  clear(container);
  const plot = el('div', { class: 'plot' });
  const legend = el('ul', { class: 'legend' });
  container.append(plot, legend);
  if (!rows.length) {
    plot.append(el('p', { class: 'muted' }, opts.empty || 'no data yet'));
    container.sondeChart = null;
    return null;
  }
  const labels = ['t', ...series.map((_, i) => 's' + i)];
  const seriesOpts = {};
  if (exemplars.length) {
    labels.push('exemplars');
    seriesOpts.exemplars = { strokeWidth: 0, drawPoints: true, pointSize: 4, color: '#d9405a' };
  }
  series.forEach((s, i) => {
    const sw = el('span', { class: 'swatch' });
    sw.style.backgroundColor = COLORS[i % COLORS.length];
    legend.append(el('li', {}, sw, s.name));
  });
  if (exemplars.length) {
    const sw = el('span', { class: 'swatch exemplar' });
    legend.append(el('li', {}, sw, 'exemplars (click a point to open its trace)'));
  }
  const graph = new Dygraph(plot, rows, {
    labels,
    colors: [...series.map((_, i) => COLORS[i % COLORS.length]), '#d9405a'],
    series: seriesOpts,
    legend: 'never',
    connectSeparatedPoints: true,
    includeZero: !!opts.includeZero,
    height: opts.height || 220,
    axes: {
      x: { axisLabelWidth: 80 },
      y: { valueFormatter: (v) => fmt(v), axisLabelFormatter: (v) => fmt(v), axisLabelWidth: 60 },
    },
    pointClickCallback: (event, point) => {
      if (point.name !== 'exemplars') return;
      const e = exemplars.find((x) => x.t === point.xval && x.value === point.yval)
        || exemplars.find((x) => x.t === point.xval);
      if (e && e.trace_id) location.hash = '#/traces/' + e.trace_id;
    },
  });
  container.sondeChart = { graph, exemplars };
  return graph;
}

// A query answer -> drawLines series, each named by its labels.
export function querySeries(answer, name) {
  return (answer.series || []).map((s) => ({
    name: (name ? name + ' ' : '') + labelText(s.labels),
    points: s.points,
  }));
}

// heatmap: times [t_ms], buckets [le], cells[time][bucket] rates (per bucket, not cumulative)
export function drawHeatmap(container, times, buckets, cells) {
  const old = container.sondeChart;
  if (old && old.graph) old.graph.destroy();
  container.sondeChart = null;
  clear(container);
  if (!times.length || !buckets.length) {
    container.append(el('p', { class: 'muted' }, 'no data yet'));
    return;
  }
  const canvas = el('canvas', { class: 'heatmap', width: 900, height: 240, 'data-cells': times.length * buckets.length });
  const axis = el('p', { class: 'muted' },
    'rows: bucket upper bounds ' + buckets.map((b) => (typeof b === 'number' ? fmt(b) : String(b))).join(' | ') + ' (bottom to top); columns: time; darker = more');
  container.append(canvas, axis);
  const ctx = canvas.getContext('2d');
  let max = 0;
  cells.forEach((row) => row.forEach((v) => { if (v > max) max = v; }));
  const w = canvas.width / times.length, h = canvas.height / buckets.length;
  cells.forEach((row, i) => row.forEach((v, j) => {
    const a = max > 0 && v > 0 ? 0.1 + 0.9 * (v / max) : 0;
    ctx.fillStyle = 'rgba(47,111,223,' + a.toFixed(3) + ')';
    ctx.fillRect(i * w, canvas.height - (j + 1) * h, Math.ceil(w), Math.ceil(h));
  }));
}
