"""The one HTML page: self-contained (inline style and script, nothing fetched elsewhere).

The script listens to `/events` (server-sent events, at most one a second) and
redraws from each state; untrusted text (alert messages, errors) is set as
text, never as HTML. Every number cell keeps the raw value in `data-value`.
Buttons ask for a confirmation and send the token typed in the token field.
"""

from __future__ import annotations

_STYLE = """
body{font:14px system-ui,sans-serif;margin:16px;color:#1d2733;background:#f6f8fa}
h1{font-size:18px;margin:0 0 4px} h2{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;background:#fff;width:100%}
td,th{border:1px solid #d8dee4;padding:3px 6px;text-align:left;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}.muted{color:#6e7781}
#bar{display:flex;gap:8px;align-items:center;margin:8px 0;flex-wrap:wrap}
button{padding:4px 10px;cursor:pointer} button.kill{background:#cf222e;color:#fff;border:0}
#result{margin-left:8px}
"""

_SCRIPT = r"""
const $ = (id) => document.getElementById(id);
function fmt(v, d) {
  if (v === null || v === undefined || v === "") return "-";
  const n = Number(v);
  return Number.isFinite(n) ? n.toFixed(d === undefined ? 2 : d) : String(v);
}
function cell(tr, value, opts) {
  opts = opts || {};
  const td = document.createElement("td");
  if (opts.field) {
    td.dataset.field = opts.field;
    td.dataset.value = value === null ? "" : String(value);
  }
  if (opts.num) { td.className = "num"; td.textContent = fmt(value, opts.digits); }
  else td.textContent = value === null || value === undefined ? "-" : String(value);
  if (opts.cls) td.className += " " + opts.cls;
  tr.appendChild(td);
  return td;
}
function flag(ok) { return ok === null ? "muted" : ok ? "ok" : "bad"; }
function rows(id, items, fill) {
  const body = $(id); body.replaceChildren();
  for (const item of items) {
    const tr = document.createElement("tr");
    tr.dataset.key = fill(tr, item) || "";
    body.appendChild(tr);
  }
}
function button(tr, label, action, market) {
  const td = document.createElement("td"); const b = document.createElement("button");
  b.textContent = label; b.onclick = () => act(action, market);
  td.appendChild(b); tr.appendChild(td);
}
function render(s) {
  $("run").textContent = `run ${s.run.run_id} · config ${s.run.config_hash}`
    + (s.run.stopping ? " · STOPPING" : "") + (s.error ? ` · ${s.error}` : "");
  $("updated").textContent = `updated ${s.updated}`;
  rows("markets", s.markets, (tr, m) => {
    cell(tr, m.market, {field: "market"});
    cell(tr, m.mid, {field: "mid", num: true});
    cell(tr, m.spread_bps, {field: "spread_bps", num: true, cls: flag(m.spread_ok)});
    cell(tr, m.target_spread_bps, {field: "target_spread_bps", num: true});
    const sp = document.createElement("td"); sp.innerHTML = m.sparkline; tr.appendChild(sp);
    cell(tr, m.bid_depth_band, {field: "bid_depth_band", num: true, cls: flag(m.depth_ok)});
    cell(tr, m.ask_depth_band, {field: "ask_depth_band", num: true, cls: flag(m.depth_ok)});
    cell(tr, m.depth_target_quote, {field: "depth_target_quote", num: true});
    cell(tr, m.paused ? "paused: " + m.paused : m.quoting ? "quoting" : "not quoting",
         {field: "quoting", cls: m.quoting && !m.paused ? "ok" : "bad"});
    cell(tr, `${m.policy || "-"} / ${m.vol_regime || "-"}`);
    cell(tr, m.position, {field: "position"});
    cell(tr, m.fills, {field: "fills", num: true, digits: 0});
    button(tr, m.paused ? "Resume" : "Pause", m.paused ? "resume" : "pause", m.market);
    cell(tr, m.last_error, {cls: "muted"});
    return m.market;
  });
  rows("exposure", s.exposure, (tr, e) => {
    cell(tr, e.asset, {field: "asset"});
    cell(tr, e.position, {field: "position", num: true, digits: 6});
    cell(tr, e.limit, {field: "limit", num: true, digits: 6});
    cell(tr, e.used === null ? null : e.used * 100, {field: "used_pct", num: true, digits: 1,
         cls: e.used === null ? "muted" : e.used >= 1 ? "bad" : "ok"});
    return e.asset;
  });
  const h = s.hedging;
  rows("hedging", [h], (tr, x) => {
    const counts = ["hedges", "hedged", "partial", "skipped", "failed", "inflight", "hedges_timed"];
    for (const k of counts) {
      cell(tr, x[k], {field: k, num: true, digits: 0});
    }
    cell(tr, x.mean_ms, {field: "mean_ms", num: true});
    cell(tr, x.p95_under_ms, {field: "p95_under_ms", num: true});
    return "router";
  });
  rows("venues", s.venues, (tr, v) => {
    cell(tr, v.venue, {field: "venue"});
    cell(tr, v.healthy ? "ok" : "DOWN", {field: "healthy", cls: v.healthy ? "ok" : "bad"});
    cell(tr, v.reason, {cls: "muted"});
    return v.venue;
  });
  rows("alerts", s.alerts, (tr, a) => {
    cell(tr, a.ts ? new Date(Number(a.ts) / 1e6).toISOString() : null);
    cell(tr, a.severity); cell(tr, a.message); cell(tr, a.action); cell(tr, a.action_result);
  });
  $("noalerts").hidden = s.alerts.length > 0;
}
async function act(action, market) {
  const what = market ? `${action} ${market}` : action;
  if (!window.confirm(`Really ${what}?`)) return;
  const token = $("token").value;
  try {
    const resp = await fetch("/api/action", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-Marketmesh-Token": token},
      body: JSON.stringify({action: action, market: market || null, confirm: true}),
    });
    const body = await resp.json();
    $("result").textContent = `${what}: `
      + (body.ok ? body.result : `refused (${resp.status}): ${body.error}`);
    $("result").className = body.ok ? "ok" : "bad";
  } catch (e) { $("result").textContent = `${what}: ${e}`; $("result").className = "bad"; }
}
$("kill").onclick = () => act("kill", null);
$("rollback").onclick = () => act("rollback", null);
const events = new EventSource("/events");
function conn(text, cls) { $("conn").textContent = text; $("conn").className = cls; }
events.onmessage = (e) => { conn("live", "ok"); render(JSON.parse(e.data)); };
events.onerror = () => conn("disconnected (retrying)", "bad");
"""

_BODY = """
<h1>marketmesh operations <span id="conn" class="muted">connecting</span></h1>
<div id="run" class="muted"></div><div id="updated" class="muted"></div>
<div id="bar">
  <label>token <input id="token" type="password" autocomplete="off" size="28"></label>
  <button id="kill" class="kill">Kill switch</button>
  <button id="rollback">Roll back config</button>
  <span id="result"></span>
</div>
<h2>Markets: spread and depth against target</h2>
<table><thead><tr><th>market</th><th>mid</th><th>spread bps</th><th>target bps</th>
<th>spread (2 min)</th><th>bid depth</th><th>ask depth</th><th>depth target</th>
<th>state</th><th>policy / regime</th><th>position</th><th>fills</th><th></th><th>last error</th>
</tr></thead><tbody id="markets"></tbody></table>
<h2>Exposure per asset against limits</h2>
<table><thead><tr><th>asset</th><th>position</th><th>limit</th><th>used %</th></tr></thead>
<tbody id="exposure"></tbody></table>
<h2>Hedging</h2>
<table><thead><tr><th>hedges</th><th>hedged</th><th>partial</th><th>skipped</th><th>failed</th>
<th>in flight</th><th>timed</th><th>fill&rarr;hedge mean ms</th><th>95% under ms</th></tr></thead>
<tbody id="hedging"></tbody></table>
<h2>Venues</h2>
<table><thead><tr><th>venue</th><th>health</th><th>reason</th></tr></thead>
<tbody id="venues"></tbody></table>
<h2>Last alerts</h2>
<table><thead><tr><th>time (UTC)</th><th>severity</th><th>alert</th><th>action</th><th>result</th>
</tr></thead><tbody id="alerts"></tbody></table>
<p id="noalerts" class="muted">no alerts</p>
"""


def render_page(nonce: str) -> str:
    """The page; `nonce` lets its one inline script run under the page's CSP."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>marketmesh operations</title>"
        f'<style nonce="{nonce}">{_STYLE}</style></head><body>{_BODY}'
        f'<script nonce="{nonce}">{_SCRIPT}</script></body></html>'
    )
