// The gateway's web console: one file, no framework, no build step. It holds no data of its own:
// signed in with an admin key (kept in this tab's session storage only), it calls the admin API under
// /admin/v1 and the model routes like any other client. Every element is built with the DOM API, never
// from HTML strings, so nothing a request log holds can become markup.
'use strict';

const KEY_STORE = 'gateway.console.adminKey';
const app = document.getElementById('app');
const session = { key: sessionStorage.getItem(KEY_STORE) || '', timers: [], keyNames: new Map() };

// ---------- DOM helpers ----------

/** h('div', {class, text, on: {click}, attrs: {...}}, ...children) */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  apply(el, props);
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function apply(el, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [event, fn] of Object.entries(v)) el.addEventListener(event, fn);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'required' || k === 'selected' || k === 'hidden') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function clear(el) { while (el.firstChild) el.firstChild.remove(); return el; }

let fieldSeq = 0;
/** A labelled control: the label's text names it for people and for assistive tech. */
function field(label, control, hint) {
  const id = control.id || (control.id = `f${++fieldSeq}`);
  return h('label', { class: 'field', for: id }, label, control, hint ? h('span', { class: 'muted', text: hint }) : null);
}

function select(options, value) {
  const el = h('select');
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    el.append(h('option', { value: v, text: label, selected: v === value }));
  }
  return el;
}

function toast(text) {
  const el = h('div', { class: 'toast', role: 'status', text });
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

// ---------- formatting ----------

const nf = new Intl.NumberFormat();
const num = (n) => (n === null || n === undefined ? '–' : nf.format(n));
const compact = (n) => (Math.abs(n) >= 1e4 ? new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }).format(n) : nf.format(Math.round(n * 100) / 100));
function usd(n) {
  if (n === null || n === undefined) return '–';
  if (n === 0) return '$0';
  return n < 0.01 ? `$${n.toPrecision(2)}` : `$${n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}
function ms(n) {
  if (n === null || n === undefined) return '–';
  if (n >= 10000) return `${(n / 1000).toFixed(1)} s`;
  if (n >= 100) return `${Math.round(n)} ms`;
  if (n > 0 && n < 0.01) return '<0.01 ms';
  return `${n.toFixed(n >= 10 ? 1 : 2)} ms`;
}
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
const pct = (a, b) => (b ? `${((100 * a) / b).toFixed(a && a / b < 0.001 ? 2 : 1)}%` : '–');
const limitsText = (l) => [l && l.rpm ? `${num(l.rpm)} rpm` : '', l && l.tpm ? `${num(l.tpm)} tpm` : ''].filter(Boolean).join(' · ') || 'none';

function statusChip(status) {
  const cls = status < 400 ? 'ok' : status === 429 || status === 499 ? 'warn' : 'bad';
  return h('span', { class: `chip ${cls}`, text: String(status) });
}

function budgetCell(entity) {
  const b = entity.budget;
  if (!b) return h('span', { class: 'muted', text: 'none' });
  const spent = entity.spend ? entity.spend.usd : 0;
  const share = b.usd > 0 ? Math.min(1, spent / b.usd) : 1;
  const bar = h('span');
  bar.style.width = `${(share * 100).toFixed(1)}%`;
  return h('div', { title: `${usd(spent)} spent of ${usd(b.usd)} (${b.period || 'lifetime'})` },
    `${usd(spent)} / ${usd(b.usd)} `, h('span', { class: 'muted', text: b.period || 'lifetime' }),
    h('div', { class: `bar${spent >= b.usd ? ' over' : ''}` }, bar));
}

// ---------- the API ----------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { authorization: `Bearer ${session.key}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: options.method || 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: reported below */ }
  if (!res.ok) {
    const message = (json && json.error && json.error.message) || `HTTP ${res.status}`;
    if (res.status === 401 && !options.signingIn) signOut('The admin key is no longer accepted. Sign in again.');
    throw new ApiError(res.status, message);
  }
  return json;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

function failure(container, error) {
  clear(container).append(h('div', { class: 'panel error', role: 'alert', text: error.message || String(error) }));
}

// ---------- sign in ----------

function signInView(message) {
  const input = h('input', { type: 'password', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const error = h('div', { class: 'error', role: 'alert', text: message || '' });
  const button = h('button', { class: 'primary', type: 'submit', text: 'Sign in' });
  const form = h('form', {
    on: {
      submit: async (e) => {
        e.preventDefault();
        const key = input.value.trim();
        if (!key) return;
        button.disabled = true;
        error.textContent = '';
        session.key = key;
        try {
          await api('/admin/v1/deployments', { signingIn: true });
          sessionStorage.setItem(KEY_STORE, key);
          if (!location.hash || location.hash === '#/') location.hash = '#/overview';
          render();
        } catch (err) {
          session.key = '';
          error.textContent = err.status === 401 ? 'This key is not accepted.' : err.status === 403 ? 'This key is not an admin key.' : err.message;
          button.disabled = false;
        }
      },
    },
  },
  h('div', { class: 'brand' }, h('img', { src: '/ui/favicon.svg', alt: '' }), 'Gateway console'),
  h('p', { class: 'muted', text: 'Sign in with an admin key (the master key, or a key made with "admin": true). It stays in this tab only.' }),
  field('Admin key', input), error, button);
  clear(app).append(h('div', { class: 'signin' }, form));
  input.focus();
}

function signOut(message) {
  session.key = '';
  sessionStorage.removeItem(KEY_STORE);
  playground.history = [];
  if (playground.controller) playground.controller.abort();
  stopTimers();
  signInView(message);
}

// ---------- shell and routing ----------

const PAGES = [
  ['overview', 'Overview', overviewPage],
  ['keys', 'Keys', keysPage],
  ['teams', 'Tenants & teams', teamsPage],
  ['logs', 'Logs', logsPage],
  ['usage', 'Usage', usagePage],
  ['providers', 'Providers', providersPage],
  ['policies', 'Policies', policiesPage],
  ['playground', 'Playground', playgroundPage],
];

function stopTimers() {
  for (const t of session.timers) clearInterval(t);
  session.timers = [];
}

function render() {
  stopTimers();
  if (!session.key) return signInView();
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'overview';
  const page = PAGES.find((p) => p[0] === name) || PAGES[0];
  const nav = h('nav', { 'aria-label': 'Console' },
    PAGES.map(([id, label]) => h('a', { href: `#/${id}`, text: label, 'aria-current': id === page[0] ? 'page' : null })));
  const main = h('main', { id: 'main' });
  clear(app).append(h('div', { class: 'shell' },
    h('aside', { class: 'side' }, h('div', { class: 'stick' },
      h('div', { class: 'brand' }, h('img', { src: '/ui/favicon.svg', alt: '' }), 'Gateway'),
      nav,
      h('div', { class: 'foot' },
        h('span', { class: 'muted mono', text: `${session.key.slice(0, 11)}…` }),
        h('button', { type: 'button', text: 'Sign out', on: { click: () => signOut() } })))),
    main));
  document.title = `${page[1]} · Gateway console`;
  page[2](main).catch((err) => failure(main, err));
}

window.addEventListener('hashchange', render);

function header(title, ...actions) {
  return h('div', { class: 'head' }, h('h1', { text: title }), h('div', { class: 'row' }, actions));
}

function table(columns, rows, options = {}) {
  const head = h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : null, scope: 'col', text: c.label })));
  const body = h('tbody');
  for (const row of rows) {
    const tr = h('tr', {}, columns.map((c) => {
      const v = c.value(row);
      return h('td', { class: c.num ? 'num' : null }, v instanceof Node ? v : v === null || v === undefined ? '–' : String(v));
    }));
    if (options.onOpen) {
      tr.className = 'click';
      tr.tabIndex = 0;
      tr.addEventListener('click', (e) => { if (!(e.target instanceof HTMLButtonElement)) options.onOpen(row); });
      // Without preventDefault the same Enter would also press the dialog's focused Close button.
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' && e.target === tr) { e.preventDefault(); options.onOpen(row); } });
    }
    body.append(tr);
  }
  if (!rows.length) body.append(h('tr', {}, h('td', { class: 'empty', colspan: columns.length, text: options.empty || 'Nothing yet.' })));
  return h('table', options.attrs || {}, h('thead', {}, head), body);
}

function modal(title, ...content) {
  const dialog = h('dialog', { 'aria-label': title }, content);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

function confirmDialog(title, text, action, run) {
  const error = h('div', { class: 'error', role: 'alert' });
  const dialog = modal(title, h('form', {
    method: 'dialog',
    on: {
      submit: async (e) => {
        e.preventDefault();
        try { await run(); dialog.close(); } catch (err) { error.textContent = err.message; }
      },
    },
  }, h('h2', { text: title }), h('p', { text }), error,
  h('div', { class: 'actions' }, h('button', { type: 'button', text: 'Cancel', on: { click: () => dialog.close() } }),
    h('button', { type: 'submit', class: 'primary danger', text: action }))));
}

// ---------- charts (SVG, drawn to the container's width) ----------

const RANGES = [
  ['24h', 'Last 24 hours', 'hour', 24 * 3600e3],
  ['7d', 'Last 7 days', 'hour', 7 * 24 * 3600e3],
  ['30d', 'Last 30 days', 'day', 30 * 24 * 3600e3],
];

/** The range's buckets from its start to now, each with the API's point or zeros. */
function dense(points, range) {
  const [, , interval, span] = range;
  const step = interval === 'day' ? 24 * 3600e3 : 3600e3;
  const end = Math.floor(Date.now() / step) * step;
  const byTime = new Map(points.map((p) => [Date.parse(p.time), p]));
  const out = [];
  for (let t = end - Math.round(span / step - 1) * step; t <= end; t += step) {
    const p = byTime.get(t);
    out.push({ t, p: p || null });
  }
  return out;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Axis labels stay short (the time of day over a day, the date over longer); tooltips say both. */
function timeLabel(t, interval, long) {
  const d = new Date(t);
  if (long) return interval === 'day' ? d.toLocaleDateString() : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return interval === 'day' || interval === 'week' ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
    : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** Money on an axis: cents and up in dollars, smaller sums with two significant digits. */
const money = (v) => (v === 0 ? '$0' : v < 0.01 ? `$${v.toPrecision(2)}` : `$${compact(v)}`);

/**
 * A chart panel: bars (stacked when several series) or lines, over dense time buckets.
 * series: [{label, cls, value: (point) => number}]
 */
function chart(title, buckets, series, options) {
  const box = h('div', { class: 'chart' });
  const panel = h('section', { class: 'panel', 'aria-label': title }, h('h2', { text: title }), box,
    h('div', { class: 'legend' }, series.map((x) => h('span', {}, h('i', { class: x.cls }), x.label))));
  const draw = () => {
    clear(box);
    const W = Math.max(box.clientWidth || 0, 320), H = 190, left = 58, right = 8, top = 8, bottom = 22;
    const n = Math.max(buckets.length, 1), cw = (W - left - right) / n;
    const values = buckets.map((b) => series.map((x) => (b.p ? x.value(b.p) || 0 : 0)));
    const max = niceMax(Math.max(0, ...values.map((v) => (options.lines ? Math.max(...v) : v.reduce((a, c) => a + c, 0)))));
    const y = (v) => top + (H - top - bottom) * (1 - v / max);
    const root = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title} chart` });
    for (let i = 0; i <= 2; i++) {
      const v = (max * i) / 2;
      root.append(s('line', { class: 'axis', x1: left, x2: W - right, y1: y(v), y2: y(v) }),
        s('text', { x: left - 6, y: y(v) + 3.5, 'text-anchor': 'end' }, options.format(v)));
    }
    const labelAt = [0, Math.floor(n / 2), n - 1];
    for (const i of new Set(labelAt)) {
      if (!buckets[i]) continue;
      const axisInterval = options.interval === 'hour' && n > 30 ? 'week' : options.interval;
      root.append(s('text', { x: left + cw * i + cw / 2, y: H - 6, 'text-anchor': i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle' }, timeLabel(buckets[i].t, axisInterval)));
    }
    if (options.lines) {
      // Lines join the buckets that had requests only: an empty hour has no latency, not a latency of 0.
      series.forEach((x, k) => {
        let d = '', joined = false;
        buckets.forEach((b, i) => {
          if (!b.p) { joined = false; return; }
          const px = (left + cw * i + cw / 2).toFixed(1), py = y(values[i][k]).toFixed(1);
          d += `${joined ? 'L' : 'M'}${px},${py}`;
          joined = true;
          root.append(s('circle', { class: x.cls, cx: px, cy: py, r: 2.5 })); // a lone hour still shows
        });
        if (d) root.append(s('path', { class: `line ${x.cls}`, d }));
      });
    } else {
      buckets.forEach((b, i) => {
        let base = 0;
        series.forEach((x, k) => {
          const v = values[i][k];
          if (v <= 0) return;
          const y0 = y(base), y1 = y(base + v);
          base += v;
          root.append(s('rect', { class: x.cls, x: left + cw * i + cw * 0.12, width: Math.max(cw * 0.76, 1), y: y1, height: Math.max(y0 - y1, 0.5), rx: 1.5 }));
        });
      });
    }
    // One transparent column per bucket carries the tooltip.
    buckets.forEach((b, i) => {
      const text = `${timeLabel(b.t, options.interval, true)}\n${series.map((x, k) => `${x.label}: ${options.format(values[i][k], true)}`).join('\n')}`;
      root.append(s('rect', { x: left + cw * i, y: top, width: cw, height: H - top - bottom, fill: 'transparent' }, s('title', {}, text)));
    });
    if (!buckets.some((b) => b.p)) root.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'No requests in this range yet'));
    box.append(root);
  };
  panel.draw = draw;
  return panel;
}

function drawWhenShown(...panels) {
  requestAnimationFrame(() => panels.forEach((p) => p.draw()));
  let pending = 0;
  const onResize = () => { cancelAnimationFrame(pending); pending = requestAnimationFrame(() => panels.forEach((p) => p.isConnected && p.draw())); };
  window.addEventListener('resize', onResize);
  const stop = setInterval(() => { if (!panels[0].isConnected) { window.removeEventListener('resize', onResize); clearInterval(stop); } }, 2000);
}

function rangeSelect(value, onChange) {
  const el = select(RANGES.map(([id, label]) => [id, label]), value);
  el.addEventListener('change', () => onChange(el.value));
  return field('Range', el);
}

// ---------- overview ----------

async function overviewPage(main) {
  let rangeId = sessionStorage.getItem('gateway.console.range') || '24h';
  const body = h('div');
  main.append(header('Overview', rangeSelect(rangeId, (v) => { rangeId = v; sessionStorage.setItem('gateway.console.range', v); load(); })), body);
  async function load() {
    const range = RANGES.find((r) => r[0] === rangeId) || RANGES[0];
    const from = new Date(Date.now() - range[3]).toISOString();
    try {
      const [series, models] = await Promise.all([
        api(`/admin/v1/analytics/series${query({ interval: range[2], from })}`),
        api(`/admin/v1/analytics/series${query({ interval: 'range', groupBy: 'model', from })}`),
      ]);
      const t = series.totals, buckets = dense(series.data, range);
      const card = (label, value, sub) => h('div', { class: 'card' }, h('div', { class: 'label', text: label }), h('div', { class: 'value', text: value }),
        sub ? h('div', { class: 'sub', text: sub }) : null);
      const charts = [
        chart('Requests and errors', buckets, [
          { label: 'Answered', cls: 's1', value: (p) => p.requests - p.errors },
          { label: 'Errors', cls: 'sbad', value: (p) => p.errors }], { interval: range[2], format: (v) => compact(v) }),
        chart('Latency', buckets, [
          { label: 'p50', cls: 's2', value: (p) => p.latencyMs.p50 },
          { label: 'p95', cls: 's3', value: (p) => p.latencyMs.p95 },
          { label: 'p99', cls: 's4', value: (p) => p.latencyMs.p99 }], { lines: true, interval: range[2], format: (v) => ms(v) }),
        chart('Tokens', buckets, [
          { label: 'Input', cls: 's1', value: (p) => p.inputTokens },
          { label: 'Output', cls: 's5', value: (p) => p.outputTokens }], { interval: range[2], format: (v) => compact(v) }),
        chart('Spend', buckets, [{ label: 'USD', cls: 's3', value: (p) => p.costUsd }], { interval: range[2], format: (v, exact) => (exact ? usd(v) : money(v)) }),
      ];
      clear(body).append(
        h('div', { class: 'cards' },
          card('Requests', num(t.requests)),
          card('Errors', num(t.errors), `${pct(t.errors, t.requests)} of requests`),
          card('Latency p50', ms(t.latencyMs.p50), `p99 ${ms(t.latencyMs.p99)}`),
          card('Latency p95', ms(t.latencyMs.p95), `mean ${ms(t.latencyMs.mean)}`),
          card('Tokens', compact(t.inputTokens + t.outputTokens), `${compact(t.inputTokens)} in · ${compact(t.outputTokens)} out`),
          card('Spend', usd(t.costUsd)),
          card('Cache hits', num(t.cacheHits), `${pct(t.cacheHits, t.requests)} of requests`)),
        h('div', { class: 'grid' }, charts),
        h('section', { class: 'panel' }, h('h2', { text: 'Models' }), table([
          { label: 'Model', value: (r) => r.group || '(none)' },
          { label: 'Requests', num: true, value: (r) => num(r.requests) },
          { label: 'Errors', num: true, value: (r) => pct(r.errors, r.requests) },
          { label: 'Tokens', num: true, value: (r) => num(r.inputTokens + r.outputTokens) },
          { label: 'Spend', num: true, value: (r) => usd(r.costUsd) },
          { label: 'p50', num: true, value: (r) => ms(r.latencyMs.p50) },
          { label: 'p95', num: true, value: (r) => ms(r.latencyMs.p95) },
        ], models.data.sort((a, b) => b.requests - a.requests), { empty: 'No requests in this range yet.' })));
      drawWhenShown(...charts);
    } catch (err) { failure(body, err); }
  }
  await load();
}

// ---------- keys ----------

async function loadKeyNames() {
  try {
    const keys = await api('/admin/v1/keys');
    session.keyNames = new Map(keys.data.map((k) => [k.id, k.name]));
    return keys.data;
  } catch (err) {
    if (err.status === 503) return [];
    throw err;
  }
}
const keyLabel = (id) => (id ? session.keyNames.get(id) || id : '–');

async function keysPage(main) {
  const body = h('div');
  const notice = h('div');
  const created = (made) => {
    showSecret(notice, made);
    load().catch((err) => failure(body, err));
  };
  main.append(header('Keys', h('button', { class: 'primary', type: 'button', text: 'Create key', on: { click: () => createKey(created) } })), notice, body);
  async function load() {
    const keys = await loadKeyNames();
    clear(body).append(h('section', { class: 'panel' }, table([
      { label: 'Name', value: (k) => k.name },
      { label: 'Key', value: (k) => h('code', { text: `${k.prefix}…` }) },
      { label: 'Team', value: (k) => k.team },
      { label: 'Tenant', value: (k) => k.tenant },
      { label: 'Models', value: (k) => (k.models.length ? k.models.join(', ') : 'all') },
      { label: 'Limits', value: (k) => limitsText(k.limits) },
      { label: 'Budget', value: (k) => budgetCell(k) },
      { label: 'Status', value: (k) => h('span', { class: `chip ${k.status === 'active' ? 'ok' : 'bad'}`, text: k.admin ? `${k.status} · admin` : k.status }) },
      { label: 'Created', value: (k) => when(k.createdAt) },
      { label: 'Expires', value: (k) => (k.expiresAt ? when(k.expiresAt) : 'never') },
      { label: '', value: (k) => (k.status === 'active' ? h('button', { type: 'button', class: 'danger', text: 'Revoke', 'aria-label': `Revoke ${k.name}`,
        on: { click: () => confirmDialog('Revoke key', `Revoke "${k.name}" (${k.prefix}…)? Requests made with it are refused at once; its logs stay.`, 'Revoke',
          async () => { await api(`/admin/v1/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' }); toast(`Key "${k.name}" revoked.`); await load(); }) } }) : '') },
    ], keys.slice().reverse(), { empty: 'No stored keys yet. Keys from the config file are not listed here.' })));
  }
  await load();
}

/** The new key's secret, once, on the page (not in a dialog, so the console stays usable while it is copied). */
function showSecret(container, made) {
  const secret = h('input', { readonly: true, value: made.key, 'data-testid': 'new-key', 'aria-label': 'New key secret', spellcheck: 'false' });
  const copy = h('button', {
    type: 'button', text: 'Copy',
    on: {
      click: async () => {
        try { await navigator.clipboard.writeText(made.key); } catch { secret.select(); document.execCommand('copy'); }
        copy.textContent = 'Copied';
      },
    },
  });
  clear(container).append(h('section', { class: 'panel', role: 'region', 'aria-label': 'New key' },
    h('h2', { text: `Key "${made.name}" created` }),
    h('p', { text: 'Copy it now: it is shown only once. The gateway keeps only its hash.' }),
    h('div', { class: 'secret' }, secret, copy,
      h('button', { type: 'button', text: 'Dismiss', on: { click: () => clear(container) } }))));
  secret.focus();
  secret.select();
}

async function createKey(onCreated) {
  const [teams, tenants] = await Promise.all([api('/admin/v1/teams'), api('/admin/v1/tenants')]).catch(() => [{ data: [] }, { data: [] }]);
  const name = h('input', { required: true, autocomplete: 'off', maxlength: 200 });
  const team = select([['', 'None'], ...teams.data.map((t) => [t.id, t.name && t.name !== t.id ? `${t.name} (${t.id})` : t.id])], '');
  const tenant = select([['', 'None'], ...tenants.data.map((t) => [t.id, t.name && t.name !== t.id ? `${t.name} (${t.id})` : t.id])], '');
  const models = h('input', { placeholder: 'all models', autocomplete: 'off' });
  const rpm = h('input', { type: 'number', min: 0, step: 1, placeholder: 'no limit' });
  const tpm = h('input', { type: 'number', min: 0, step: 1, placeholder: 'no limit' });
  const budget = h('input', { type: 'number', min: 0, step: 'any', placeholder: 'no budget' });
  const period = select([['', 'lifetime'], ['1h', 'per hour'], ['1d', 'per day'], ['1w', 'per week'], ['1M', 'per month']], '1M');
  const expires = h('input', { type: 'date' });
  const admin = h('input', { type: 'checkbox' });
  const error = h('div', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Create key' });
  const form = h('form', { on: { submit: onSubmit } },
    h('h2', { text: 'Create key' }),
    field('Name', name),
    h('div', { class: 'two' }, field('Team', team), field('Tenant', tenant)),
    field('Models', models, 'Comma-separated; globs allowed (mock/*). Empty: every model.'),
    h('div', { class: 'two' }, field('Requests per minute', rpm), field('Tokens per minute', tpm)),
    h('div', { class: 'two' }, field('Budget (USD)', budget), field('Budget period', period)),
    field('Expires', expires),
    h('label', { class: 'check' }, admin, 'Admin: may call the admin API and sign in here'),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'button', text: 'Cancel', on: { click: () => dialog.close() } }), submit));
  const dialog = modal('Create key', form);
  name.focus();

  async function onSubmit(e) {
    e.preventDefault();
    const bodyJson = { name: name.value.trim(), admin: admin.checked };
    if (team.value) bodyJson.team = team.value;
    if (tenant.value) bodyJson.tenant = tenant.value;
    const globs = models.value.split(',').map((m) => m.trim()).filter(Boolean);
    if (globs.length) bodyJson.models = globs;
    if (rpm.value || tpm.value) bodyJson.limits = { ...(rpm.value ? { rpm: Number(rpm.value) } : {}), ...(tpm.value ? { tpm: Number(tpm.value) } : {}) };
    if (budget.value) bodyJson.budget = { usd: Number(budget.value), ...(period.value ? { period: period.value } : {}) };
    if (expires.value) bodyJson.expiresAt = new Date(`${expires.value}T23:59:59`).toISOString();
    submit.disabled = true;
    try {
      const made = await api('/admin/v1/keys', { method: 'POST', body: bodyJson });
      dialog.close();
      onCreated(made);
    } catch (err) {
      error.textContent = err.message;
      submit.disabled = false;
    }
  }
}

// ---------- tenants and teams ----------

async function teamsPage(main) {
  const body = h('div');
  main.append(header('Tenants & teams',
    h('button', { type: 'button', text: 'New tenant', on: { click: () => entityDialog('tenant', null, load) } }),
    h('button', { type: 'button', text: 'New team', on: { click: () => entityDialog('team', null, load) } })), body);
  async function load() {
    const [tenants, teams] = await Promise.all([api('/admin/v1/tenants'), api('/admin/v1/teams')]);
    const actions = (kind, e) => h('div', { class: 'row' },
      h('button', { type: 'button', text: 'Edit', 'aria-label': `Edit ${kind} ${e.id}`, on: { click: () => entityDialog(kind, e, load, tenants.data) } }),
      h('button', { type: 'button', class: 'danger', text: 'Delete', 'aria-label': `Delete ${kind} ${e.id}`,
        on: { click: () => confirmDialog(`Delete ${kind}`, `Delete ${kind} "${e.id}"? Refused while teams or keys still belong to it.`, 'Delete',
          async () => { await api(`/admin/v1/${kind}s/${encodeURIComponent(e.id)}`, { method: 'DELETE' }); await load(); }) } }));
    const common = (kind) => [
      { label: 'ID', value: (e) => h('code', { text: e.id }) },
      { label: 'Display', value: (e) => e.name },
      ...(kind === 'team' ? [{ label: 'Tenant', value: (e) => e.tenant }] : []),
      { label: 'Limits', value: (e) => limitsText(e.limits) },
      { label: 'Budget and spend', value: (e) => budgetCell(e) },
      { label: 'Period ends', value: (e) => (e.spend && e.spend.periodEnd ? when(e.spend.periodEnd) : '–') },
      { label: '', value: (e) => actions(kind, e) },
    ];
    clear(body).append(
      h('section', { class: 'panel' }, h('h2', { text: 'Tenants' }), table(common('tenant'), tenants.data, { empty: 'No tenants yet.' })),
      h('section', { class: 'panel' }, h('h2', { text: 'Teams' }), table(common('team'), teams.data, { empty: 'No teams yet.' })));
  }
  await load();
}

async function entityDialog(kind, entity, reload, tenants) {
  if (kind === 'team' && !tenants) tenants = (await api('/admin/v1/tenants')).data;
  const id = h('input', { required: true, value: entity ? entity.id : '', disabled: !!entity, pattern: '[A-Za-z0-9._\\-]+', autocomplete: 'off' });
  const display = h('input', { value: entity ? entity.name : '', autocomplete: 'off' });
  const tenant = kind === 'team' ? select([['', 'None'], ...tenants.map((t) => [t.id, t.id])], entity ? entity.tenant || '' : '') : null;
  const rpm = h('input', { type: 'number', min: 0, value: entity && entity.limits.rpm ? entity.limits.rpm : '' });
  const tpm = h('input', { type: 'number', min: 0, value: entity && entity.limits.tpm ? entity.limits.tpm : '' });
  const budget = h('input', { type: 'number', min: 0, step: 'any', value: entity && entity.budget ? entity.budget.usd : '' });
  const period = select([['', 'lifetime'], ['1h', 'per hour'], ['1d', 'per day'], ['1w', 'per week'], ['1M', 'per month']], entity && entity.budget ? entity.budget.period || '' : '1M');
  const error = h('div', { class: 'error', role: 'alert' });
  const title = `${entity ? 'Edit' : 'New'} ${kind}`;
  const dialog = modal(title, h('form', {
    on: {
      submit: async (e) => {
        e.preventDefault();
        const json = { name: display.value.trim() || id.value.trim() };
        if (!entity) json.id = id.value.trim();
        if (tenant && (tenant.value || entity)) json.tenant = tenant.value || null;
        json.limits = { rpm: Number(rpm.value || 0), tpm: Number(tpm.value || 0) };
        json.budget = budget.value ? { usd: Number(budget.value), ...(period.value ? { period: period.value } : {}) } : null;
        try {
          await api(entity ? `/admin/v1/${kind}s/${encodeURIComponent(entity.id)}` : `/admin/v1/${kind}s`, { method: entity ? 'PATCH' : 'POST', body: json });
          dialog.close();
          await reload();
        } catch (err) { error.textContent = err.message; }
      },
    },
  }, h('h2', { text: title }), field('ID', id), field('Display', display), tenant ? field('Tenant', tenant) : null,
  h('div', { class: 'two' }, field('Requests per minute', rpm), field('Tokens per minute', tpm)),
  h('div', { class: 'two' }, field('Budget (USD)', budget), field('Budget period', period)), error,
  h('div', { class: 'actions' }, h('button', { type: 'button', text: 'Cancel', on: { click: () => dialog.close() } }), h('button', { type: 'submit', class: 'primary', text: 'Save' }))));
}

// ---------- logs ----------

const logColumns = [
  { label: 'Time', value: (r) => when(r.time) },
  { label: 'Status', value: (r) => statusChip(r.status) },
  { label: 'Model', value: (r) => r.model },
  { label: 'Deployment', value: (r) => r.deployment },
  { label: 'Key', value: (r) => keyLabel(r.key) },
  { label: 'Tokens in/out', num: true, value: (r) => `${num(r.inputTokens)} / ${num(r.outputTokens)}` },
  { label: 'Cost', num: true, value: (r) => usd(r.costUsd) },
  { label: 'Duration', num: true, value: (r) => ms(r.durationMs) },
  { label: 'TTFT', num: true, value: (r) => ms(r.ttftMs) },
  { label: 'Outcome', value: (r) => r.errorCode || r.outcome },
];

function logDetail(r) {
  const item = (label, value) => [h('dt', { text: label }), h('dd', {}, value === null || value === undefined || value === '' ? '–' : value)];
  const overheadShare = r.durationMs > 0 ? Math.min(1, r.overheadMs / r.durationMs) : 0;
  const bar = h('span');
  bar.style.width = `${(100 * (1 - overheadShare)).toFixed(1)}%`;
  const dialog = modal('Request', h('div', {},
    h('h2', { text: `Request ${r.id}` }),
    h('dl', { class: 'detail' },
      item('Time', when(r.time)), item('Status', statusChip(r.status)), item('Outcome', r.errorCode ? `${r.outcome} (${r.errorCode})` : r.outcome),
      item('Dialect', r.dialect), item('Model', r.model), item('Deployment', r.deployment), item('Attempts', num(r.attempts)),
      item('Stream', r.stream ? 'yes' : 'no'), item('Key', r.key ? `${keyLabel(r.key)} (${r.key})` : null), item('Team', r.team), item('Tenant', r.tenant),
      item('Policies', r.policies), item('Cache', r.cache),
      item('Duration', ms(r.durationMs)), item('Upstream', ms(r.upstreamMs)), item('Gateway overhead', ms(r.overheadMs)), item('Time to first token', ms(r.ttftMs)),
      item('Upstream share', h('div', { class: 'bar', title: 'provider time against the whole' }, bar)),
      item('Input tokens', num(r.inputTokens)), item('Output tokens', num(r.outputTokens)), item('Cached tokens', num(r.cachedTokens)),
      item('Reasoning tokens', num(r.reasoningTokens)), item('Cost', usd(r.costUsd))),
    r.requestBody ? [h('h2', { text: 'Request body' }), h('pre', { class: 'body', text: pretty(r.requestBody) })] : null,
    r.responseBody ? [h('h2', { text: 'Answer body' }), h('pre', { class: 'body', text: pretty(r.responseBody) })] : null,
    !r.requestBody && !r.responseBody ? h('p', { class: 'muted', text: 'Bodies are kept only with storage.logBodies on.' }) : null,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', text: 'Close', on: { click: () => dialog.close() } }))));
}

function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

async function logsPage(main) {
  const keys = await loadKeyNames();
  const key = select([['', 'All keys'], ...keys.map((k) => [k.id, k.name])], '');
  const model = h('input', { placeholder: 'any', autocomplete: 'off' });
  const status = h('input', { type: 'number', min: 100, max: 599, placeholder: 'any' });
  const rows = [];
  let next = null;
  const tableBox = h('div');
  const more = h('button', { type: 'button', text: 'Load more', hidden: true, on: { click: () => load(true) } });
  const filters = h('form', { class: 'row', on: { submit: (e) => { e.preventDefault(); load(false); } } },
    field('Key', key), field('Model', model), field('Status', status), h('button', { type: 'submit', text: 'Filter' }),
    h('button', { type: 'button', text: 'Refresh', on: { click: () => load(false) } }));
  main.append(header('Logs'), h('section', { class: 'panel' }, filters), h('section', { class: 'panel' }, tableBox, more));
  async function load(append) {
    const page = await api(`/admin/v1/logs${query({ key: key.value, model: model.value.trim(), status: status.value, limit: 100, before: append ? next : null })}`);
    if (!append) rows.length = 0;
    rows.push(...page.data);
    next = page.nextBefore;
    more.hidden = next === null;
    clear(tableBox).append(table(logColumns, rows, { onOpen: logDetail, empty: 'No requests match.', attrs: { 'data-testid': 'logs-table' } }));
  }
  await load(false);
}

// ---------- usage ----------

async function usagePage(main) {
  let rangeId = sessionStorage.getItem('gateway.console.range') || '24h';
  let group = sessionStorage.getItem('gateway.console.group') || 'model';
  const groupSelect = select([['model', 'Model'], ['deployment', 'Deployment'], ['key', 'Key'], ['team', 'Team'], ['tenant', 'Tenant']], group);
  groupSelect.addEventListener('change', () => { group = groupSelect.value; sessionStorage.setItem('gateway.console.group', group); load(); });
  const body = h('div');
  main.append(header('Usage', field('Group by', groupSelect),
    rangeSelect(rangeId, (v) => { rangeId = v; sessionStorage.setItem('gateway.console.range', v); load(); })), body);
  await loadKeyNames();
  async function load() {
    const range = RANGES.find((r) => r[0] === rangeId) || RANGES[0];
    const from = new Date(Date.now() - range[3]).toISOString();
    try {
      const [totals, series, slowest, costliest] = await Promise.all([
        api(`/admin/v1/analytics/series${query({ interval: 'range', groupBy: group, from })}`),
        api(`/admin/v1/analytics/series${query({ interval: range[2], groupBy: group, from })}`),
        api(`/admin/v1/analytics/requests${query({ sort: 'slowest', limit: 10, from })}`),
        api(`/admin/v1/analytics/requests${query({ sort: 'costliest', limit: 10, from })}`),
      ]);
      const label = (g) => (g === null || g === undefined ? '(none)' : group === 'key' ? keyLabel(g) : g);
      const top = totals.data.slice().sort((a, b) => b.requests - a.requests);
      const shown = top.slice(0, 5).map((r) => r.group);
      const byTime = new Map();
      for (const p of series.data) {
        const at = byTime.get(p.time) || { time: p.time, groups: new Map() };
        at.groups.set(shown.includes(p.group) ? p.group : '\u0000other', (at.groups.get(p.group) || 0) + p.requests);
        byTime.set(p.time, at);
      }
      const lines = shown.map((g, i) => ({ label: label(g), cls: `s${i + 1}`, value: (p) => p.groups.get(g) || 0 }));
      if (top.length > 5) lines.push({ label: 'others', cls: 's6', value: (p) => p.groups.get('\u0000other') || 0 });
      const requests = chart(`Requests by ${group}`, dense([...byTime.values()], range), lines, { interval: range[2], format: (v) => compact(v) });
      clear(body).append(requests,
        h('section', { class: 'panel' }, h('h2', { text: `By ${group}` }), table([
          { label: group[0].toUpperCase() + group.slice(1), value: (r) => label(r.group) },
          { label: 'Requests', num: true, value: (r) => num(r.requests) },
          { label: 'Errors', num: true, value: (r) => `${num(r.errors)} (${pct(r.errors, r.requests)})` },
          { label: 'Input tokens', num: true, value: (r) => num(r.inputTokens) },
          { label: 'Output tokens', num: true, value: (r) => num(r.outputTokens) },
          { label: 'Cache hits', num: true, value: (r) => num(r.cacheHits) },
          { label: 'Spend', num: true, value: (r) => usd(r.costUsd) },
          { label: 'p50', num: true, value: (r) => ms(r.latencyMs.p50) },
          { label: 'p95', num: true, value: (r) => ms(r.latencyMs.p95) },
          { label: 'p99', num: true, value: (r) => ms(r.latencyMs.p99) },
        ], top, { empty: 'No requests in this range yet.' })),
        h('div', { class: 'grid' },
          h('section', { class: 'panel' }, h('h2', { text: 'Slowest requests' }), table(logColumns.filter((c) => ['Time', 'Model', 'Duration', 'Status'].includes(c.label)), slowest.data, { onOpen: logDetail })),
          h('section', { class: 'panel' }, h('h2', { text: 'Costliest requests' }), table(logColumns.filter((c) => ['Time', 'Model', 'Cost', 'Tokens in/out'].includes(c.label)), costliest.data, { onOpen: logDetail }))));
      drawWhenShown(requests);
    } catch (err) { failure(body, err); }
  }
  await load();
}

// ---------- providers and deployments ----------

async function providersPage(main) {
  const body = h('div');
  const updated = h('span', { class: 'muted', 'aria-live': 'polite' });
  main.append(header('Providers', updated), body);
  const health = () => [
    { label: 'Breaker', value: (x) => h('span', { class: `chip ${x.breaker === 'open' ? 'bad' : 'ok'}`, text: x.breaker === 'open' ? `open${x.breakerOpensInMs ? ` · probe in ${Math.ceil(x.breakerOpensInMs / 1000)} s` : ''}` : 'closed' }) },
    { label: 'Failures in a row', num: true, value: (x) => num(x.consecutiveFailures) },
    { label: 'In flight', num: true, value: (x) => num(x.inFlight) },
    { label: 'Queued', num: true, value: (x) => num(x.queued) },
    { label: 'Latency', num: true, value: (x) => ms(x.latencyMs) },
    { label: 'Weight', num: true, value: (x) => num(x.weight) },
    { label: 'Max concurrency', num: true, value: (x) => (x.maxConcurrency ? num(x.maxConcurrency) : 'none') },
    { label: 'Budget', value: (x) => (x.overBudget ? h('span', { class: 'chip bad', text: 'spent' }) : 'ok') },
  ];
  async function load() {
    const live = await api('/admin/v1/deployments');
    updated.textContent = `Live · ${new Date().toLocaleTimeString()}`;
    append(clear(body), [
      h('section', { class: 'panel' }, h('h2', { text: 'Providers' }), table([
        { label: 'Name', value: (p) => p.name },
        { label: 'Type', value: (p) => p.type },
        { label: 'Defined in', value: (p) => (p.stored ? 'admin API (encrypted store)' : 'configuration') },
      ], live.providers)),
      ...live.groups.map((g) => h('section', { class: 'panel' }, h('h2', { text: `${g.name} · ${g.strategy}` }),
        table([{ label: 'Deployment', value: (x) => x.name }, ...health()], g.deployments))),
      live.groups.length ? null : h('section', { class: 'panel muted', text: 'No model groups configured: requests name provider/model directly, with no routing state to show.' })]);
  }
  await load();
  session.timers.push(setInterval(() => load().catch(() => {}), 5000));
}

// ---------- policies ----------

async function policiesPage(main) {
  const list = await api('/admin/v1/policies');
  main.append(header('Policies'), h('section', { class: 'panel' }, table([
    { label: 'Name', value: (p) => p.name },
    { label: 'File', value: (p) => h('code', { text: p.file }) },
    { label: 'Version', num: true, value: (p) => num(p.version) },
    { label: 'Hooks', value: (p) => p.hooks.join(', ') },
    { label: 'Models', value: (p) => p.models.join(', ') },
    { label: 'Keys', value: (p) => p.keys.join(', ') },
    { label: 'On failure', value: (p) => (p.failOpen ? 'skip (open)' : 'refuse (closed)') },
    { label: 'Calls', num: true, value: (p) => num(p.calls) },
    { label: 'Failures', num: true, value: (p) => num(p.failures) },
    { label: 'Limit hits', num: true, value: (p) => num(p.limitHits) },
    { label: 'Average', num: true, value: (p) => `${p.averageUs} µs` },
  ], list.data, { empty: 'No policies configured: list JavaScript files under "policies" in gateway.json.' })));
}

// ---------- playground ----------

const playground = { history: [], controller: null };

async function playgroundPage(main) {
  let models = [];
  try { models = (await api('/v1/models')).data.map((m) => m.id); } catch { /* typed by hand then */ }
  const list = h('datalist', { id: 'playground-models' }, models.map((m) => h('option', { value: m })));
  const model = h('input', { list: 'playground-models', autocomplete: 'off', spellcheck: 'false', value: sessionStorage.getItem('gateway.console.model') || models[0] || '' });
  const system = h('textarea', { rows: 3, placeholder: 'optional' });
  const temperature = h('input', { type: 'number', min: 0, max: 2, step: 0.1, placeholder: 'default' });
  const maxTokens = h('input', { type: 'number', min: 1, step: 1, placeholder: 'default' });
  const stream = h('input', { type: 'checkbox', checked: true });
  const message = h('textarea', { rows: 3, placeholder: 'Ctrl+Enter sends' });
  const output = h('div', { class: 'transcript', 'aria-live': 'polite', 'aria-label': 'Conversation' });
  const stats = h('div', { class: 'stats' });
  const send = h('button', { type: 'submit', class: 'primary', text: 'Send' });
  const stop = h('button', { type: 'button', text: 'Stop', disabled: true, on: { click: () => playground.controller && playground.controller.abort() } });
  const reset = h('button', { type: 'button', text: 'Clear', on: { click: () => { playground.history = []; clear(output); stats.textContent = ''; } } });
  message.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); } });
  const form = h('form', { class: 'compose', on: { submit: (e) => { e.preventDefault(); run(); } } }, field('Message', message), h('div', { class: 'row' }, send, stop, reset));
  main.append(header('Playground'), list, h('div', { class: 'playground' },
    h('section', { class: 'panel settings' }, field('Model', model, 'Any model or alias this key may use'), field('System instructions', system),
      field('Temperature', temperature), field('Max tokens', maxTokens), h('label', { class: 'check' }, stream, 'Stream the answer')),
    h('section', { class: 'panel' }, output, stats, form)));
  for (const m of playground.history) output.append(bubble(m.role, m.content));

  // The model's words carry the test id, not the transcript: a prompt echoed back must come from the model.
  function bubble(role, text) {
    const content = h('div', { text, 'data-testid': role === 'assistant' ? 'playground-output' : null });
    const el = h('div', { class: `msg ${role}` }, h('div', { class: 'who', text: role === 'user' ? 'You' : role === 'error' ? 'Error' : model.value }), content);
    el.content = content;
    return el;
  }

  async function run() {
    const text = message.value.trim();
    if (!text || !model.value.trim()) return;
    sessionStorage.setItem('gateway.console.model', model.value.trim());
    const messages = [...(system.value.trim() ? [{ role: 'system', content: system.value.trim() }] : []), ...playground.history, { role: 'user', content: text }];
    const request = { model: model.value.trim(), messages, stream: stream.checked };
    if (stream.checked) request.stream_options = { include_usage: true };
    if (temperature.value) request.temperature = Number(temperature.value);
    if (maxTokens.value) request.max_tokens = Number(maxTokens.value);
    output.append(bubble('user', text));
    const answer = bubble('assistant', '');
    output.append(answer);
    message.value = '';
    send.disabled = true;
    stop.disabled = false;
    stats.textContent = '';
    const controller = (playground.controller = new AbortController());
    const started = performance.now();
    let first = null, usage = null, reply = '';
    try {
      const res = await fetch('/v1/chat/completions', {
        method: 'POST', signal: controller.signal,
        headers: { authorization: `Bearer ${session.key}`, 'content-type': 'application/json' }, body: JSON.stringify(request),
      });
      const id = res.headers.get('x-request-id');
      if (!res.ok) {
        const err = await res.json().catch(() => null);
        throw new Error((err && err.error && err.error.message) || `HTTP ${res.status}`);
      }
      if (stream.checked) {
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
            const event = buffer.slice(0, cut);
            buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
            for (const line of event.split(/\r?\n/)) {
              if (!line.startsWith('data:')) continue;
              const data = line.slice(5).trim();
              if (data === '[DONE]') continue;
              const chunk = JSON.parse(data);
              if (chunk.error) throw new Error(chunk.error.message || 'the stream failed');
              const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta && chunk.choices[0].delta.content;
              if (delta) {
                if (first === null) first = performance.now() - started;
                reply += delta;
                answer.content.textContent = reply;
              }
              if (chunk.usage) usage = chunk.usage;
            }
          }
        }
      } else {
        const json = await res.json();
        reply = (json.choices && json.choices[0] && json.choices[0].message && json.choices[0].message.content) || '';
        usage = json.usage;
        answer.content.textContent = reply;
      }
      playground.history.push({ role: 'user', content: text }, { role: 'assistant', content: reply });
      const total = performance.now() - started;
      stats.textContent = [id ? `request ${id}` : '', first !== null ? `first token ${ms(first)}` : '', `total ${ms(total)}`,
        usage ? `${num(usage.prompt_tokens)} in / ${num(usage.completion_tokens)} out tokens` : ''].filter(Boolean).join(' · ');
    } catch (err) {
      if (err.name === 'AbortError') { stats.textContent = 'Stopped.'; playground.history.push({ role: 'user', content: text }, { role: 'assistant', content: reply }); }
      else { answer.remove(); output.append(bubble('error', err.message)); }
    } finally {
      send.disabled = false;
      stop.disabled = true;
      playground.controller = null;
      message.focus();
    }
  }
}

render();
