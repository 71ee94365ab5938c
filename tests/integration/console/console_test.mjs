// console_test.mjs - the sonde console in a real browser (Debian's chromium, headless,
// driven by playwright-core), against a sonde-gateway under sonde-load started by
// test_console_browser.sh, which passes everything through the environment:
//   CONSOLE  the console's base URL (http://127.0.0.1:PORT/console/)
//   METRICS  the gateway's /metrics URL       API  its /v1 base URL
//   LOAD     the sonde-load binary            SHOTS  directory for the screenshots
//   WEBHOOK  file the webhook receiver appends each notification to (one JSON a line)
//   RULE     the name of the alert rule on the error ratio (test rules file)
//   ALERTMANAGER  the Alertmanager URL the gateway was given (the Alerts page links it)
// Every check could fail: each page loads without console errors, failed requests or
// dialogs; charts have data points and paint pixels; the overview agrees with /metrics;
// an exemplar point and a trace id open the right waterfall; the log filter narrows to
// one trace; raising the sim's error rate (X-Sonde-Sim-Error-Rate) drives the rule
// inactive -> pending -> firing -> inactive and the webhook hears it; hostile label
// values and log fields show as text. Waits poll for a state (no timing is asserted).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';

const { CONSOLE, METRICS, API, LOAD, SHOTS, WEBHOOK, RULE, ALERTMANAGER } = process.env;
for (const [k, v] of Object.entries({ CONSOLE, METRICS, API, LOAD, SHOTS, WEBHOOK, RULE, ALERTMANAGER }))
  assert.ok(v, k + ' is not set');
mkdirSync(SHOTS, { recursive: true });
const HOSTILE_LABEL = '<img src=x onerror=alert(1)>';
const HOSTILE_FIELD = '</script>';

const problems = [];   // console errors, failed requests, dialogs: each fails the test
let passed = 0;
function ok(what) { passed++; console.log('ok ' + passed + ' - ' + what); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, seconds = 60) {
  const end = Date.now() + seconds * 1000;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    await sleep(250);
  }
  throw new Error('timed out waiting for ' + what + (last ? ': ' + last.message : ''));
}

async function api(path) {
  const r = await fetch(CONSOLE + 'api/' + path);
  assert.equal(r.status, 200, path + ' answered ' + r.status);
  return r.json();
}

// /metrics as {family_sample_name: [{labels, value}]} (text format 0.0.4 lines)
async function scrape() {
  const text = await (await fetch(METRICS)).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    (out[m[1]] = out[m[1]] || []).push({ labels, value: Number(m[4]) });
  }
  return out;
}
const total = (s, name, pred = () => true) => (s[name] || []).filter((x) => pred(x.labels)).reduce((a, x) => a + x.value, 0);

function load(args) {
  const p = spawn(LOAD, ['-u', API, '-q', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  p.done = new Promise((r) => p.on('exit', r));
  return p;
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
page.on('requestfailed', (r) => {
  // a request the page's leaving cancelled (net::ERR_ABORTED: the test moves on while a
  // refresh is in flight) and the EventSource's stream closed on navigation are no failures
  const why = (r.failure() || {}).errorText || '';
  if (!/logs\/stream/.test(r.url()) && why !== 'net::ERR_ABORTED') problems.push('request failed: ' + r.url() + ' ' + why);
});
page.on('response', (r) => { if (r.status() >= 400) problems.push('HTTP ' + r.status() + ' for ' + r.url()); });
page.on('dialog', async (d) => { problems.push('dialog opened: ' + d.message()); await d.dismiss(); });
function noProblems(where) {
  assert.deepEqual(problems, [], where + ': ' + problems.join('; '));
}

// A fresh load of the console at hash (a goto that only changes the hash would keep the
// page, and the old view, in place).
async function open(hash) {
  await page.goto('about:blank');
  await page.goto(CONSOLE + hash);
  await page.waitForSelector('section.view');
}

// The number of pixels a chart painted (dygraphs draws on canvases; the heatmap too).
async function painted(selector) {
  return page.$$eval(selector + ' canvas', (cs) => cs.reduce((n, c) => {
    if (!c.width || !c.height) return n;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let k = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) k++;
    return n + k;
  }, 0));
}

try {
  // ---- every page loads clean; the status says tracing and logging are on ----
  const status = await api('status');
  assert.equal(status.tracing, true, 'the gateway gives the console its tracer');
  assert.equal(status.logging, true, 'the gateway gives the console its logger');
  for (const [hash, sel] of [['#/overview', '.card'], ['#/explorer', 'a.family'], ['#/traces', 'table.spans tr'],
    ['#/logs', 'table.logs tbody tr'], ['#/alerts', 'tr.rule']]) {
    await open(hash);
    await page.waitForSelector(sel, { timeout: 30000 });
    noProblems(hash);
    ok(hash + ' loads without errors');
  }
  const idx = await fetch(CONSOLE, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.match(idx.headers.get('content-security-policy') || '', /script-src 'self'/);
  assert.ok(!/<script>|\sstyle=|\son[a-z]+=/i.test(await idx.text()), 'no inline script, style or handler in the page');
  ok('the page carries the CSP and no inline script or style');

  // ---- overview: charts drawn, numbers agree with /metrics ----
  await open('#/overview');
  await until('the overview charts have data', () => page.$$eval('.chart', (cs) =>
    cs.length >= 4 && cs.filter((c) => c.sondeChart && c.sondeChart.graph.numRows() > 1).length >= 3), 90);
  assert.ok(await painted('.chart') > 500, 'the overview charts painted pixels');
  ok('overview charts drawn');
  // requests/s: the page's figure (history over the last minute) against the rate of
  // http_requests_total between two scrapes, with the load steady in between
  const s1 = await scrape(), t1 = Date.now();
  await sleep(15000);
  const s2 = await scrape(), t2 = Date.now();
  const rate = (total(s2, 'http_requests_total') - total(s1, 'http_requests_total')) / ((t2 - t1) / 1000);
  await page.waitForFunction(() => Number(document.querySelector('section.view').dataset.refreshed) > 0);
  const o = await api('overview');
  const cardText = await page.textContent('[data-metric=requests_per_second] .card-value');
  assert.ok(rate > 0.5, 'sonde-load drives traffic (' + rate + ' req/s)');
  // 50 %: the page averages the last minute, the scrapes 15 s of it (the load may vary under
  // sanitizers and a busy machine); a wrong family or unit is off by far more
  assert.ok(Math.abs(o.requests_per_second - rate) <= 0.5 * rate,
    'overview requests/s ' + o.requests_per_second + ' vs /metrics ' + rate);
  assert.ok(Math.abs(Number(cardText) - o.requests_per_second) <= 0.5 * rate, 'card ' + cardText + ' vs API');
  // TTFT p95: the page's quantile lies in the /metrics bucket holding the 95th percentile
  const b = (s2.gen_ai_server_time_to_first_token_seconds_bucket || []).reduce((m, x) => {
    m.set(x.labels.le, (m.get(x.labels.le) || 0) + x.value); return m; }, new Map());
  const les = [...b.keys()].filter((l) => l !== '+Inf').map(Number).sort((a, c) => a - c);
  const count = b.get('+Inf');
  assert.ok(count > 0, 'TTFT observed');
  const hi = les.find((l) => b.get(String(l)) >= 0.95 * count) || Infinity;
  const lo = [0, ...les][les.indexOf(hi)] || 0;
  assert.ok(o.ttft.p95 > lo * 0.99 && o.ttft.p95 <= hi * 1.01, 'TTFT p95 ' + o.ttft.p95 + ' outside (' + lo + ', ' + hi + ']');
  assert.equal(o.error_ratio, 0, 'no errors yet');
  assert.match(await page.textContent('[data-metric=error_ratio] .card-value'), /^0( %)?$/);
  ok('overview agrees with /metrics (req/s ' + o.requests_per_second.toFixed(2) + ' vs ' + rate.toFixed(2) + ', TTFT p95 in (' + lo + ', ' + hi + '])');
  await page.screenshot({ path: SHOTS + '/console-overview.png', fullPage: true });

  // ---- explorer: a histogram's quantiles with exemplars; clicking one opens its trace ----
  await open('#/explorer/gen_ai_server_time_to_first_token_seconds');
  const exemplars = () => page.$eval('.chart', (c) =>
    c.sondeChart && c.sondeChart.exemplars.length && c.sondeChart.graph.numRows() > 1
      ? c.sondeChart.exemplars.map((e) => ({ t: e.t, value: e.value, trace_id: e.trace_id, span_id: e.span_id })) : null);
  await until('exemplars on the TTFT chart', exemplars, 60);
  assert.ok(await painted('.chart') > 200, 'the explorer chart painted pixels');
  await page.screenshot({ path: SHOTS + '/console-explorer.png', fullPage: true });
  // hover, then click the point of the newest exemplar whose trace the tracer already
  // holds (a TTFT exemplar is taken at the first token, before its spans end and reach
  // the tracer's ring); the chart stops refreshing under the pointer, but a refresh
  // between reading the position and hovering moves it: then try again
  let ex = [], target = null;
  for (let attempt = 0; attempt < 12; attempt++) {
    ex = (await exemplars()) || [];
    target = null;
    // dygraphs picks the row nearest the pointer in x, then a point of that row: the target
    // must have no other row (exemplar or sample) within 4 px of it
    const isolated = await page.$eval('.chart', (c) => {
      const g = c.sondeChart && c.sondeChart.graph;
      if (!g) return [];
      const xs = [];
      for (let i = 0; i < g.numRows(); i++) xs.push(g.toDomXCoord(g.getValue(i, 0)));
      return c.sondeChart.exemplars.filter((e) => {
        const x = g.toDomXCoord(e.t);
        return xs.filter((v) => Math.abs(v - x) < 4).length === 1;
      }).map((e) => e.trace_id);
    });
    for (const e of [...ex].sort((a, b) => b.t - a.t))
      if (isolated.includes(e.trace_id) && (await fetch(CONSOLE + 'api/traces/' + e.trace_id)).status === 200) {
        target = e;
        break;
      }
    if (!target) { await sleep(1000); continue; }
    const where = () => page.$eval('.chart', (c, e) => {
      if (!c.sondeChart) return null;
      const [x, y] = c.sondeChart.graph.toDomCoords(new Date(e.t), e.value);
      const r = c.querySelector('.plot').getBoundingClientRect();
      return [r.left + x, r.top + y];
    }, target);
    // the pointer on the point, and still on it after a moment (a redraw already under
    // way when the pointer arrived rescales the time axis): then click
    let xy = await where();
    if (!xy) continue;
    await page.mouse.move(xy[0], xy[1]);
    await sleep(500);
    const again = await where();
    if (!again || Math.abs(again[0] - xy[0]) > 1 || Math.abs(again[1] - xy[1]) > 1) continue;
    xy = again;
    await page.mouse.move(xy[0] + 1, xy[1]);
    await page.mouse.move(xy[0], xy[1]);
    await page.mouse.click(xy[0], xy[1]);
    await sleep(300);
    if ((await page.evaluate(() => location.hash)).startsWith('#/traces/')) break;
  }
  assert.ok(target, 'an exemplar whose trace the tracer holds');
  const clicked = (await page.evaluate(() => location.hash)).slice('#/traces/'.length);
  assert.ok(ex.some((e) => e.trace_id === clicked), 'opened the trace of an exemplar');
  await page.waitForSelector('.span-row');
  const apiTrace = await api('traces/' + clicked);
  const rows = await page.$$eval('.span-row', (rs) => rs.map((r) => r.dataset.spanId));
  assert.deepEqual([...rows].sort(), apiTrace.spans.map((s) => s.span_id).sort(), 'the waterfall shows the trace\'s spans');
  const exSpan = ex.find((e) => e.trace_id === clicked).span_id;
  assert.ok(rows.includes(exSpan), 'the exemplar\'s span is in the waterfall');
  assert.ok(apiTrace.spans.some((s) => /^chat /.test(s.name)), 'a GenAI chat span is among them');
  await page.click('.span-row[data-span-id="' + exSpan + '"] .span-head');
  await page.waitForSelector('.span-row[data-span-id="' + exSpan + '"] .span-details:not([hidden]) table.attrs');
  assert.match(await page.textContent('.span-row[data-span-id="' + exSpan + '"] .span-details'), /gen_ai\./);
  noProblems('exemplar -> waterfall');
  ok('an exemplar point opens its trace\'s waterfall (' + rows.length + ' spans)');
  await page.screenshot({ path: SHOTS + '/console-trace.png', fullPage: true });

  // ---- logs: a trace id opens the trace; the filter narrows to one trace ----
  await open('#/logs');
  await page.waitForSelector('table.logs tbody tr[data-trace-id]:not([data-trace-id=""])');
  const all = await page.$$eval('table.logs tbody tr', (rs) => rs.length);
  // the newest record whose trace the tracer holds already (its spans reach the ring after
  // the request, a moment after its access-log record)
  const tid = await until('a log record whose trace is held', async () => {
    for (const t of await page.$$eval('table.logs tbody tr', (rs) => rs.map((r) => r.dataset.traceId).filter(Boolean)))
      if ((await fetch(CONSOLE + 'api/traces/' + t)).status === 200) return t;
    return null;
  }, 20);
  await page.screenshot({ path: SHOTS + '/console-logs.png', fullPage: true });
  await page.click('table.logs tbody tr[data-trace-id="' + tid + '"] a.trace-id');
  await until('the trace id opens its waterfall', async () => (await page.evaluate(() => location.hash)) === '#/traces/' + tid, 10);
  await page.waitForSelector('.span-row');
  const tspans = (await api('traces/' + tid)).spans.map((s) => s.span_id).sort();
  assert.deepEqual((await page.$$eval('.span-row', (rs) => rs.map((r) => r.dataset.spanId))).sort(), tspans);
  ok('a log record\'s trace id opens that trace (' + tspans.length + ' spans)');
  await open('#/logs');
  await page.waitForSelector('table.logs tbody tr');
  await page.fill('input[name=trace_id]', tid);
  await page.click('form.controls button[type=submit]');
  await until('the log filter narrows to one trace', () => page.$$eval('table.logs tbody tr', (rs, t) =>
    rs.length > 0 && rs.every((r) => r.dataset.traceId === t), tid), 15);
  const narrowed = await page.$$eval('table.logs tbody tr', (rs) => rs.length);
  assert.ok(narrowed < all, 'the filter left ' + narrowed + ' of ' + all + ' records');
  ok('the log filter narrows to the records of one trace (' + narrowed + ' of ' + all + ')');

  // ---- the histogram as a heatmap: the canvas has cells and paints them ----
  await open('#/explorer/gen_ai_server_time_to_first_token_seconds');
  await page.waitForSelector('select[name=fn]');
  await page.selectOption('select[name=fn]', 'heatmap');
  await page.waitForSelector('.chart canvas.heatmap');
  assert.ok(Number(await page.getAttribute('.chart canvas.heatmap', 'data-cells')) > 0, 'heatmap cells');
  assert.ok(await painted('.chart') > 100, 'the heatmap painted pixels');
  noProblems('heatmap');
  ok('a histogram shows as a heatmap');

  // ---- hostile label values and log fields are text ----
  await open('#/explorer/gen_ai_server_time_to_first_token_seconds');
  await page.waitForSelector('table.current td.labels');
  assert.ok(await page.locator('table.current td.labels', { hasText: HOSTILE_LABEL }).count() > 0,
    'the label value is shown literally');
  await page.selectOption('select[name="label:gen_ai_request_model"]', HOSTILE_LABEL);
  await until('the chart of the hostile series', () => page.$eval('.chart', (c) => c.sondeChart && c.sondeChart.graph.numRows() > 0), 30);
  assert.equal(await page.locator('img').count(), 0, 'no <img> element was created');
  // fresh records of the model named </script> (the log ring has moved on since the start)
  assert.equal(await load(['-n', '2', '-c', '1', '-m', HOSTILE_FIELD]).done, 0, 'requests to the model ' + HOSTILE_FIELD);
  await open('#/logs?q=' + encodeURIComponent(HOSTILE_FIELD));
  await until('a log record with ' + HOSTILE_FIELD, () => page.locator('table.logs td.msg', { hasText: HOSTILE_FIELD }).count(), 20);
  await open('#/traces');
  await page.waitForSelector('table.spans tr');
  await sleep(500);
  noProblems('hostile text');   // no dialog opened (the handler records one)
  assert.equal(await page.locator('img').count(), 0, 'no <img> element was created');
  ok('a label value ' + HOSTILE_LABEL + ' and a log field ' + HOSTILE_FIELD + ' render as text');
  await page.screenshot({ path: SHOTS + '/console-traces.png', fullPage: true });

  // ---- alerts: the error ratio rule goes inactive -> pending -> firing -> inactive ----
  await open('#/alerts');
  const rowSel = 'tr.rule[data-rule="' + RULE + '"]';
  const state = () => page.$eval(rowSel, (r) => r.dataset.state);
  await page.waitForSelector(rowSel);
  assert.equal(await state(), 'inactive', 'the rule starts inactive');
  assert.equal(await page.getAttribute('a.alertmanager', 'href'), ALERTMANAGER, 'the Alertmanager link');
  const seen = ['inactive'];
  const bad = load(['-c', '4', '-d', '300', '-H', 'X-Sonde-Sim-Error-Rate: 1']);
  try {
    for (const want of ['pending', 'firing']) {
      await until('the rule ' + want, async () => {
        const s = await state();
        if (s !== seen[seen.length - 1]) seen.push(s);
        return s === want;
      }, 90);
    }
    await page.screenshot({ path: SHOTS + '/console-alerts.png', fullPage: true });
  } finally {
    bad.kill('SIGTERM');
    await bad.done;
  }
  await until('the rule back to inactive', async () => {
    const s = await state();
    if (s !== seen[seen.length - 1]) seen.push(s);
    return s === 'inactive';
  }, 180);
  assert.deepEqual(seen, ['inactive', 'pending', 'firing', 'inactive'], 'states seen on the page');
  ok('the alert went ' + seen.join(' -> ') + ' on the page');
  const notes = await until('webhook notifications (firing and resolved)', () => {
    if (!existsSync(WEBHOOK)) return null;
    const all = readFileSync(WEBHOOK, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const text = JSON.stringify(all);
    return text.includes(RULE) && /firing/.test(text) && /resolved|inactive/.test(text) ? all : null;
  }, 30);
  ok('the webhook received ' + notes.length + ' notifications for ' + RULE);
  noProblems('alerts');
} catch (e) {
  console.error('FAIL: ' + e.message);
  try { await page.screenshot({ path: SHOTS + '/console-failure.png', fullPage: true }); } catch (_) { /* closed */ }
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log(passed + ' passed, 0 failed');
