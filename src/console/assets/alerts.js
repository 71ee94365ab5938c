// alerts.js - the alert rules evaluated in-process on the history: each rule's
// expression, threshold and "for", its state (inactive, pending, firing) with the value
// and since when, and its recent transitions; a link to Alertmanager when the process
// was given one. Refreshed every 5 s.
import { get } from './api.js';
import { el, clear, fmt, notice, timeText } from './dom.js';

function ruleRow(r) {
  return el('tr', { class: 'rule', 'data-rule': r.name, 'data-state': r.state },
    el('td', {}, el('strong', {}, r.name), el('div', { class: 'muted' }, r.summary || '')),
    el('td', {}, el('span', { class: 'state state-' + r.state }, r.state)),
    el('td', {}, el('code', {}, r.expr + ' ' + r.op + ' ' + fmt(r.threshold)), ' for ' + r.for_s + ' s'),
    el('td', {}, r.severity || ''),
    el('td', { class: 'num' }, fmt(r.value)),
    el('td', {}, r.active_since ? timeText(new Date(r.active_since)) : '-'),
    el('td', {}, el('ul', { class: 'history' }, (r.history || []).slice(-6).reverse().map((h) =>
      el('li', {}, timeText(new Date(h.t)) + ' ', el('span', { class: 'state state-' + h.state }, h.state),
        ' ' + fmt(h.value))))));
}

export function render(root) {
  const link = el('p');
  const table = el('div');
  root.append(el('h1', {}, 'Alerts'), link, table);
  let timer = null, alive = true;
  async function load() {
    try {
      const a = await get('alerts');
      if (!alive) return;
      clear(link);
      if (a.alertmanager_url && /^https?:\/\//i.test(a.alertmanager_url)) {
        link.append('Notifications also go to ', el('a', { href: a.alertmanager_url, rel: 'noreferrer', target: '_blank', class: 'alertmanager' }, 'Alertmanager'), '.');
      }
      clear(table).append(el('table', { class: 'data alerts' },
        el('thead', {}, el('tr', {}, ['rule', 'state', 'condition', 'severity', 'value', 'active since', 'recent history'].map((h) => el('th', {}, h)))),
        el('tbody', {}, a.rules.map(ruleRow))));
      root.dataset.loaded = String((Number(root.dataset.loaded) || 0) + 1);
    } catch (e) {
      if (alive) clear(table).append(notice(e.message, 'error'));
    }
    if (alive) timer = setTimeout(load, 2000);
  }
  load();
  return () => { alive = false; clearTimeout(timer); };
}
