// The task page: live status, tables, delay chart and event log, and a button per action.
// Renderers of the precheck, verification and sessions sections live in report.js, the
// switchover section in switchover.js, throttling and alerts in settings.js.
"use strict";

const NAME = decodeURIComponent(location.pathname.split("/").pop());
const TASK = "/tasks/" + encodeURIComponent(NAME);
const delays = [];  // [seconds since page load, delay] while changes are followed
const opened = Date.now();
let lastEvent = 0;
let current = null;

const copied = {};  // table → [[seconds, rows copied], ...] this page saw, the last 10 s

/** Rows per second and time left of a table still copying, from the counts this page saw
 * (as the CLI's live view does: the store keeps counts, not when they came); "" until a
 * second of samples is in. */
function rateText(t) {
  if (t.done) { delete copied[t.source]; return ""; }
  const now = (Date.now() - opened) / 1000;
  const samples = (copied[t.source] = copied[t.source] || []);
  samples.push([now, t.rows_copied]);
  while (samples.length > 2 && now - samples[1][0] >= 10) samples.shift();
  const [t0, rows0] = samples[0];
  if (now - t0 < 1 || t.rows_copied < rows0) return "";
  const perS = (t.rows_copied - rows0) / (now - t0);
  const left = t.rows_total - t.rows_copied;
  let text = " · " + Math.round(perS).toLocaleString() + " rows/s";
  if (perS > 0 && left > 0) {
    const secs = Math.round(left / perS);
    const two = (n) => String(n).padStart(2, "0");
    text += ` · ${Math.floor(secs / 3600)}:${two(Math.floor(secs / 60) % 60)}:${two(secs % 60)} left`;
  }
  return text;
}

function tableRow(t) {
  const total = Math.max(t.rows_total, t.rows_copied);
  const pct = t.done ? 100 : total ? Math.round((100 * t.rows_copied) / total) : 0;
  const name = t.source === t.dest ? t.source : t.source + " → " + t.dest;
  return h("tr", { "data-table": t.source },
    h("td", {}, name),
    h("td", { class: "num" }, t.rows_copied.toLocaleString() + " / " + t.rows_total.toLocaleString()),
    h("td", { class: "wide" }, h("div", { class: "bar thin" },
      h("div", { class: "fill", style: "width:" + pct + "%" }),
      h("span", { class: "label" }, t.done ? "done" : pct + " %" + rateText(t)))));
}

function renderStatus(task) {
  current = task;
  document.title = "turnout · " + task.name;
  fill(document.getElementById("name"), task.name);
  fill(document.getElementById("state"), stateBadge(task.state));
  fill(document.getElementById("progress"), progressBar(task));
  fill(document.getElementById("summary"), task.source + " → " + task.dest + " · " +
    task.types.join(", ") + " · " + task.changes_applied.toLocaleString() + " changes applied");
  const error = document.getElementById("error");
  error.hidden = !task.error;
  fill(error, task.error || "");
  fill(document.getElementById("tables"), task.tables.map(tableRow));
  enable(task);
  if (task.phase === "incremental" && task.state === "Migrating" && task.delay_s !== null) {
    delays.push([(Date.now() - opened) / 1000, task.delay_s]);
    if (delays.length > 300) delays.shift();
  }
  renderChart();
}

/** Start only what is stopped, stop and pause only what runs, resume only what is paused. */
function enable(task) {
  const running = RUNNING.includes(task.state);
  document.getElementById("start").disabled = running;
  document.getElementById("resnapshot").disabled = running;
  document.getElementById("stop").disabled = !running;
  document.getElementById("pause").disabled = !running;
  document.getElementById("resume").disabled = task.state !== "Paused";
  enableSwitch();
}

/** A small SVG line of the delay samples, scaled to the largest one (at least 1 s). */
function renderChart() {
  const width = 320, height = 80;
  const chart = document.getElementById("chart");
  if (!delays.length) { fill(chart, h("p", { class: "muted" }, "no changes followed yet")); return; }
  const t0 = delays[0][0], span = Math.max(1, delays[delays.length - 1][0] - t0);
  const top = Math.max(1, ...delays.map((d) => d[1]));
  const pad = 4, usable = height - 2 * pad;  // keep a line at 0 s off the frame
  const points = delays.map(([t, d]) =>
    ((width * (t - t0)) / span).toFixed(1) + "," + (pad + usable - (usable * d) / top).toFixed(1));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "delay-chart");
  svg.setAttribute("preserveAspectRatio", "none");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points.join(" "));
  const base = document.createElementNS("http://www.w3.org/2000/svg", "line");
  for (const [k, v] of [["x1", 0], ["x2", width], ["y1", pad + usable], ["y2", pad + usable]]) {
    base.setAttribute(k, v);
  }
  base.setAttribute("class", "axis");
  svg.append(base, line);
  const now = delays[delays.length - 1][1];
  const highest = Math.max(...delays.map((d) => d[1]));
  fill(chart, svg, h("div", { class: "small muted" }, "now " + (delayText(now) || "0 s") +
    " · highest " + highest.toFixed(1) + " s · scale 0–" + top.toFixed(top < 10 ? 1 : 0) + " s"));
}

function renderEvents(entries) {
  const list = document.getElementById("events");
  for (const e of entries) {
    lastEvent = Math.max(lastEvent, e.id);
    list.prepend(h("li", { class: "level-" + e.level },
      h("time", {}, when(e.ts)), " ", h("span", { class: "level" }, e.level), " ", e.message));
  }
}

/** The DDL a Paused task waits at, with what to do about it (docs/ddl.md). */
async function renderDdl(task) {
  const section = document.getElementById("ddl-section");
  const shown = task.state === "Paused" ? await api("GET", TASK + "/ddl") : { waiting: null };
  const w = shown.waiting;
  section.hidden = !w;
  if (!w) return;
  fill(document.getElementById("ddl-statement"), w.table + ": " + w.statement);
  fill(document.getElementById("ddl-held"), w.held.map((why) => h("li", {}, why)));
  fill(document.getElementById("ddl-proposed"),
    w.proposed.length ? w.proposed.join(";\n") : "(nothing proposed: write your own)");
  document.getElementById("ddl-apply").disabled = !w.proposed.length;
}

async function refresh() {
  if (gone) return;  // finished: the task is deleted
  try {
    const task = await api("GET", TASK);
    renderStatus(task);
    await renderDdl(task);
    renderSwitchover(await api("GET", TASK + "/switchover"));
    renderEvents(await api("GET", TASK + "/events?after=" + lastEvent));
  } catch (err) {
    if (!gone) throw err;
  }
}

/** Run an action from a button: disabled while it runs, its error shown as one line. */
async function act(button, fn) {
  button.disabled = true;
  notify("");
  try {
    await fn();
    await refresh();
  } catch (err) {
    notify(err.message);
  } finally {
    button.disabled = false;
    if (current) enable(current);  // back to what the state allows
  }
}

function bind(id, fn, confirmText) {
  const button = document.getElementById(id);
  button.addEventListener("click", () => {
    if (confirmText && !confirm(confirmText)) return;
    act(button, fn);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  bind("start", () => api("POST", TASK + "/start", {}));
  bind("resnapshot", () => api("POST", TASK + "/start", { resnapshot: true }),
    `Empty the destination tables of ${NAME} and copy everything again?`);
  bind("stop", () => api("POST", TASK + "/stop"));
  bind("pause", () => api("POST", TASK + "/pause"));
  bind("resume", () => api("POST", TASK + "/resume"));
  bind("ddl-apply", () => api("POST", TASK + "/ddl", { how: "apply" }));
  bind("ddl-apply-sql", () => api("POST", TASK + "/ddl",
    { how: "apply-sql", sql: document.getElementById("ddl-sql").value }));
  bind("ddl-skip", () => api("POST", TASK + "/ddl", { how: "skip" }),
    "Go on without changing the destination? Rows that no longer fit stop the task.");
  bind("precheck", async () => renderPrecheck(await api("POST", TASK + "/precheck")));
  bind("verify", async () => watchVerify(await api("POST", TASK + "/verify")));
  bind("delete", async () => {
    await api("DELETE", TASK);
    location.href = "/";
  }, `Delete task ${NAME}? It stops, and its triggers, change log and checkpoints are removed.`);
  bindSwitchover();
  bindSettings();
  document.getElementById("sessions-refresh").addEventListener("click", loadSessions);
  every(1000, refresh);
  api("GET", TASK + "/verify").then(watchVerify).catch((err) => notify(err.message));
  loadSessions();
});
