// The status page (issue 19; sipproxy64(8) STATUS AND METRICS): with `metrics`, GET / serves
// one small page, no build step: HTML, CSS and a script that reads /sessions, /engines and
// /registrations every two seconds and shows the calls, their streams' quality and verdict,
// the media engines and the registrations, on a phone too. Every value a stranger may have
// chosen (Call-ID, Contact, user) is written as text, never as HTML; the page loads nothing
// from elsewhere (Content-Security-Policy: default-src 'self').

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sipproxy64</title>
<link rel="stylesheet" href="/status.css">
<script src="/status.js" defer></script>
</head>
<body>
<header><h1>sipproxy64</h1><span id="updated">loading…</span></header>
<main>
<section><h2>Calls <span id="ncalls" class="count"></span></h2><div id="calls"></div></section>
<section id="engines-section" hidden><h2>Media engines</h2><div id="engines"></div></section>
<section id="regs-section" hidden><h2>Registrations <span id="nregs" class="count"></span></h2><div id="regs"></div></section>
</main>
</body>
</html>
`;

export const PAGE_CSS = `body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
header { display: flex; justify-content: space-between; align-items: baseline; padding: .6em 1em; background: #1d2330; color: #fff; }
h1 { font-size: 1.2em; margin: 0; }
h2 { font-size: 1.05em; margin: 1.2em 0 .5em; }
main { padding: 0 1em 2em; max-width: 70em; margin: auto; }
.count { color: #667; font-weight: normal; }
.card { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: .6em .8em; margin: .5em 0; }
.card .id { font-family: ui-monospace, monospace; word-break: break-all; }
.stream { display: grid; grid-template-columns: repeat(auto-fit, minmax(14em, 1fr)); gap: .3em 1em; margin-top: .4em; font-size: .93em; }
.verdict { display: inline-block; padding: .05em .5em; border-radius: 1em; font-size: .9em; margin-top: .3em; }
.v-ok { background: #dff5e1; color: #155d27; }
.v-held, .v-waiting { background: #e8eefc; color: #23407a; }
.v-one-way, .v-never-latched, .v-no-media { background: #fde2e1; color: #8a1c17; }
.muted { color: #778; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: .93em; }
td, th { text-align: left; padding: .3em .5em; border-bottom: 1px solid #eef; word-break: break-all; }
@media (max-width: 40em) { body { font-size: 14px; } main { padding: 0 .5em 2em; } }
`;

export const PAGE_JS = `'use strict';
// Text only: every value may come from a stranger (no innerHTML anywhere).
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function side(name, party, q) {
  const d = el('div');
  d.append(el('strong', '', name + ' '), el('span', 'id', party || '–'));
  if (q) d.append(el('div', 'muted', q.packets + ' packets, ' + q.lost + ' lost, jitter ' + q.jitterMs + ' ms' + (q.foreign ? ', ' + q.foreign + ' from other sources' : '')));
  return d;
}
function calls(list) {
  const box = document.getElementById('calls');
  const byCall = new Map();
  for (const s of list) byCall.set(s.callId, (byCall.get(s.callId) || []).concat([s]));
  document.getElementById('ncalls').textContent = '(' + byCall.size + ')';
  box.replaceChildren();
  if (byCall.size === 0) box.append(el('p', 'muted', 'No call has media through the relay now.'));
  for (const [id, streams] of byCall) {
    const c = el('div', 'card call');
    c.append(el('div', 'id', id));
    for (const s of streams) {
      const g = el('div', 'stream');
      g.append(side('IPv4', s.party4, s.from4), side('IPv6', s.party6, s.from6), el('div', 'muted', 'port ' + s.port + ', ' + s.ageSeconds + ' s' + (s.held ? ', on hold' : '')));
      c.append(g, el('div', 'verdict v-' + (s.verdictKind || 'ok'), s.verdict || ''));
    }
    box.append(c);
  }
}
function table(box, head, rows) {
  const t = el('table');
  const h = el('tr');
  for (const x of head) h.append(el('th', '', x));
  t.append(h);
  for (const r of rows) {
    const tr = el('tr');
    for (const x of r) tr.append(el('td', '', x));
    t.append(tr);
  }
  box.replaceChildren(t);
}
function engines(list) {
  document.getElementById('engines-section').hidden = list.length === 0;
  table(document.getElementById('engines'), ['Engine', 'State', 'Sessions'], list.map((e) => ['rtpengine ' + e.engine, e.up ? 'up' : 'DOWN', String(e.stats['currentstatistics.sessionsown'] ?? '–')]));
}
function regs(r) {
  const rows = [];
  const now = r.now || Date.now(); // the proxy's clock: the browser's may be off
  for (const [kind, list] of [['registrar', r.registrar], ['outbound', r.outbound]]) {
    for (const a of list || []) for (const b of a.bindings || []) if (b.expires > now) rows.push([kind, a.aor, b.contact, b.source, Math.round((b.expires - now) / 1000) + ' s']);
  }
  document.getElementById('regs-section').hidden = !r.enabled;
  document.getElementById('nregs').textContent = '(' + rows.length + ')';
  table(document.getElementById('regs'), ['Kind', 'User', 'Contact', 'From', 'Expires'], rows);
}
async function get(path, fallback) {
  try {
    const r = await fetch(path, { cache: 'no-store' });
    return r.ok ? await r.json() : fallback;
  } catch (e) {
    return fallback;
  }
}
async function refresh() {
  const [s, e, r] = await Promise.all([get('/sessions', null), get('/engines', []), get('/registrations', { enabled: false })]);
  if (s) {
    calls(s);
    engines(e);
    regs(r);
    document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } else document.getElementById('updated').textContent = 'cannot reach the proxy';
  setTimeout(refresh, 2000);
}
refresh();
`;
