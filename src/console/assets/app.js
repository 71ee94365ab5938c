// app.js - the console's router. The hash names the page (#/overview, #/explorer,
// #/traces, #/traces/<trace id>, #/logs (#/logs?trace_id=...), #/alerts); each page module renders into
// <main> and returns a function that stops its timers and streams when the page
// is left. /console/api/status is read once per navigation so that the Traces and
// Logs pages can say when tracing or logging is off.
import { get } from './api.js';
import { el, clear, notice } from './dom.js';
import * as overview from './overview.js';
import * as explorer from './explorer.js';
import * as traces from './traces.js';
import * as logs from './logs.js';
import * as alerts from './alerts.js';

const pages = { overview, explorer, traces, logs, alerts };
let stop = null;

function route() {
  const [path, query] = (location.hash || '#/overview').replace(/^#\/?/, '').split('?');
  const parts = path.split('/');
  const name = pages[parts[0]] ? parts[0] : 'overview';
  return { name, arg: parts.slice(1).map(decodeURIComponent).join('/'), query: new URLSearchParams(query || '') };
}

async function show() {
  if (stop) stop();
  stop = null;
  const { name, arg, query } = route();
  document.querySelectorAll('nav a').forEach((a) =>
    a.classList.toggle('active', a.dataset.route === name));
  const root = clear(document.getElementById('page'));
  let status = null;
  try {
    status = await get('status');
    const line = document.getElementById('status-line');
    line.textContent = 'sonde ' + status.version + ' \u00b7 history ' + status.history.series
      + ' series, ' + Math.round(status.history.bytes / 1024) + ' KiB';
  } catch (e) {
    root.append(notice('The console API does not answer: ' + e.message, 'error'));
    return;
  }
  const view = el('section', { class: 'view', 'data-page': name });
  root.append(view);
  stop = pages[name].render(view, { status, arg, query }) || null;
}

window.addEventListener('hashchange', show);
if (!location.hash) history.replaceState(null, '', '#/overview');
show();
