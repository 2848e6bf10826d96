/**
 * The dashboard's page: a static shell with no data in it. Every figure comes over the
 * dashboard's hub, which refuses a viewer without the dashboard's policy. A bearer token may be
 * given in the address's fragment (`#access_token=…`, never sent to the server in the URL); the
 * page keeps it for the tab and removes it from the address.
 */
export function dashboardPage(base: string, title: string): string {
  const config = JSON.stringify({ hub: `${base}/hub`, client: `${base}/hubwire-client.min.js` }).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f5f6f8; color: #1d2330; }
  header { display: flex; gap: 1rem; align-items: baseline; padding: .8rem 1.2rem; background: #1d2330; color: #fff; }
  header h1 { font-size: 1.1rem; margin: 0; }
  #status { font-size: .85rem; padding: .1rem .5rem; border-radius: 1rem; background: #555; }
  #status.connected { background: #1f8a4c; } #status.refused { background: #b3261e; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1rem; padding: 1rem 1.2rem; }
  section { background: #fff; border-radius: 6px; padding: .6rem .9rem; box-shadow: 0 1px 2px #0002; overflow-x: auto; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: .95rem; margin: .2rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .2rem .5rem .2rem 0; border-bottom: 1px solid #eceef2; white-space: nowrap; }
  th { font-weight: 600; color: #5a6275; font-size: .8rem; }
  td.n { text-align: right; } .bad { color: #b3261e; } .muted { color: #7a8293; }
  form { display: flex; gap: .5rem; margin-bottom: .5rem; } input { flex: 1; padding: .3rem; }
</style></head>
<body>
<header><h1>${escapeHtml(title)}</h1><span id="status">connecting</span><span id="updated" class="muted"></span></header>
<main>
  <section class="wide"><h2>Servers</h2><table id="servers"></table></section>
  <section class="wide"><h2>Hubs</h2><table id="hubs"></table></section>
  <section class="wide"><h2>Methods</h2><table id="methods"></table></section>
  <section class="wide"><h2>Backplane</h2><table id="backplane"></table></section>
  <section><h2>Largest groups</h2><table id="groups"></table></section>
  <section><h2>Recent calls</h2><table id="calls"></table></section>
  <section class="wide"><h2>Connects and disconnects</h2><table id="connections"></table></section>
  <section class="wide"><h2>Find a connection or user</h2>
    <form id="search"><input name="query" placeholder="connection id or user id" maxlength="200"><button>Find</button></form>
    <table id="found"></table></section>
</main>
<script type="module">
const config = ${config};
const { HubConnection } = await import(config.client);
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.has("access_token")) {
  sessionStorage.setItem("hubwire.dashboard.token", fragment.get("access_token"));
  history.replaceState(null, "", location.pathname + location.search);
}
const token = sessionStorage.getItem("hubwire.dashboard.token");
const $ = (id) => document.getElementById(id);
const ms = (v) => (v === null || v === undefined ? "-" : v < 1 ? v.toFixed(2) + " ms" : v < 1000 ? v.toFixed(1) + " ms" : (v / 1000).toFixed(2) + " s");
const time = (t) => new Date(t).toLocaleTimeString();
const short = (id) => id.slice(0, 8);
const counts = (o) => Object.entries(o).map(([k, v]) => k + " " + v).join(", ") || "-";
function fill(table, head, rows, empty = "none yet") {
  table.replaceChildren();
  const tr = table.insertRow();
  for (const h of head) { const th = document.createElement("th"); th.textContent = h; tr.append(th); }
  if (rows.length === 0) { const td = table.insertRow().insertCell(); td.colSpan = head.length; td.className = "muted"; td.textContent = empty; }
  for (const row of rows) {
    const r = table.insertRow();
    for (const cell of row) {
      const td = r.insertCell();
      const value = cell !== null && typeof cell === "object" ? cell : { text: cell };
      td.textContent = String(value.text ?? "");
      if (typeof value.text === "number") td.className = "n";
      if (value.bad) td.className += " bad";
    }
  }
}
function render(view) {
  const servers = view.servers;
  const one = servers.length === 1;
  const on = (s) => (one ? [] : [s.name]);
  const serverHead = one ? [] : ["server"];
  fill($("servers"), ["server", "id", "up since", "connections", "transports", "protocols", "maximumConnections", "refused"],
    servers.map((s) => [s.name, short(s.id), time(s.startedAt), s.connections, counts(s.byTransport), counts(s.byProtocol),
      s.maximumConnections === null ? "none" : s.maximumConnections, { text: s.refusedConnections, bad: s.refusedConnections > 0 }]));
  const hubs = servers.flatMap((s) => s.hubs.map((h) => [s, h]));
  fill($("hubs"), [...serverHead, "hub", "path", "connections", "users", "per user", "refused", "calls/s per client", "held back", "groups", "waiting for client"],
    hubs.map(([s, h]) => [...on(s), h.name, h.path, h.connections, h.users, h.maximumConnectionsPerUser === null ? "none" : h.maximumConnectionsPerUser,
      { text: h.refusedUserConnections, bad: h.refusedUserConnections > 0 },
      h.maximumInvocationsPerSecondPerClient === null ? "none" : h.maximumInvocationsPerSecondPerClient,
      { text: h.heldBackInvocations, bad: h.heldBackInvocations > 0 }, h.groups, h.waiting]));
  fill($("groups"), [...serverHead, "hub", "group", "members"],
    hubs.flatMap(([s, h]) => h.topGroups.map((g) => [...on(s), h.name, g.name, g.size])));
  fill($("methods"), [...serverHead, "hub", "method", "calls", "calls/s", "errors", "p50", "p95", "p99"],
    hubs.flatMap(([s, h]) => h.methods.map((m) => [...on(s), h.name, m.name, m.calls, m.rate.toFixed(1),
      { text: m.errors + m.hubExceptions, bad: m.errors + m.hubExceptions > 0 }, ms(m.p50), ms(m.p95), ms(m.p99)])));
  fill($("backplane"), ["server", "hub", "link", "peers", "outbox", "outbox bytes", "lag", "published", "received", "unreceived", "dropped"],
    hubs.filter(([, h]) => h.backplane).map(([s, h]) => { const b = h.backplane; return [s.name, h.name,
      { text: b.connected ? "up" : "down", bad: !b.connected }, b.peers, b.waitingMessages, b.waitingBytes, ms(b.lagMs), b.published, b.received, b.unreceived, { text: b.dropped, bad: b.dropped > 0 }]; }),
    "one server, no backplane");
  const calls = servers.flatMap((s) => s.recentCalls.map((c) => [s, c])).sort((a, b) => b[1].at - a[1].at).slice(0, 20);
  fill($("calls"), ["at", ...serverHead, "hub", "method", "connection", "took", "outcome"],
    calls.map(([s, c]) => [time(c.at), ...on(s), c.hub, c.method, short(c.connectionId), ms(c.ms), { text: c.outcome, bad: c.outcome !== "ok" }]));
  const events = servers.flatMap((s) => s.recentConnections.map((e) => [s, e])).sort((a, b) => b[1].at - a[1].at).slice(0, 20);
  fill($("connections"), ["at", ...serverHead, "hub", "event", "connection", "user", "transport"],
    events.map(([s, e]) => [time(e.at), ...on(s), e.hub, e.kind, short(e.connectionId), e.user ?? "-", e.transport]));
  $("updated").textContent = "updated " + time(view.at);
}
function renderFound(results) {
  fill($("found"), ["server", "hub", "connection", "user", "transport", "protocol", "since", "groups", "recent calls"],
    results.map((c) => [c.server, c.hub, c.connectionId, c.user ?? "-", c.transport, c.protocol ?? "-", time(c.connectedAt),
      c.groups.join(", ") || "-", c.recentCalls.map((r) => r.method + " " + ms(r.ms) + (r.outcome === "ok" ? "" : " " + r.outcome)).join(", ") || "-"]), "no such connection or user");
}
const connection = new HubConnection(config.hub, token ? { accessTokenFactory: () => token } : {});
const status = (text, cls = "") => { $("status").textContent = text; $("status").className = cls; };
connection.on("Update", render);
connection.onReconnecting(() => status("reconnecting"));
connection.onReconnected(() => status("live", "connected"));
connection.onClose((error) => status(error && [401, 403].includes(error.statusCode) ? "refused" : "offline", error && [401, 403].includes(error.statusCode) ? "refused" : ""));
$("search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = new FormData(event.target).get("query").trim();
  if (query) renderFound(await connection.invoke("Search", query));
});
try {
  await connection.start();
  status("live", "connected");
  render(await connection.invoke("Snapshot"));
} catch (error) {
  const refused = [401, 403].includes(error.statusCode);
  status(refused ? "refused" : "offline", refused ? "refused" : "");
}
</script>
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
