// Shared by every console page: API calls with the token, element building, shared widgets.
// The console only renders what /api/ returns; the server holds every rule.
"use strict";

const TOKEN_KEY = "turnout-token";

/** Call the API; a 401 sends the user to the login page, other errors throw their message. */
async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch("/api" + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && location.pathname !== "/login") {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
    throw new Error("this server needs its token");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message || response.statusText);
  return data;
}

/** h("td", {class: "x"}, "text", child): an element; text is never parsed as HTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function delayText(delay) {
  if (delay === null || delay === undefined) return "";
  return delay < 1 ? "not delayed" : "delayed " + Math.round(delay) + " s";
}

const RUNNING = ["Prechecking", "Migrating"];

/** The bar's label: the phase, then the delay while changes are followed. */
function barLabel(task) {
  const parts = [task.phase_title || (task.state === "NotStarted" ? "Not started" : task.state)];
  if (task.phase === "incremental" && task.state === "Migrating") parts.push(delayText(task.delay_s));
  return parts.join(" — ");
}

/** How full the bar is: rows copied in the full phase, whole once changes are followed. */
function barPercent(task) {
  if (task.phase === "incremental" || task.state === "Completed") return 100;
  const total = task.tables.reduce((n, t) => n + Math.max(t.rows_total, t.rows_copied), 0);
  const copied = task.tables.reduce((n, t) => n + (t.done ? Math.max(t.rows_total, t.rows_copied) : t.rows_copied), 0);
  return total ? Math.min(100, Math.round((100 * copied) / total)) : 0;
}

function progressBar(task) {
  const pct = barPercent(task);
  const label = barLabel(task);
  const delayed = task.phase === "incremental" && task.delay_s >= 1;
  return h("div", { class: "bar" + (delayed ? " delayed" : ""), role: "progressbar",
                    "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100,
                    "aria-label": label, "data-phase": task.phase || "", title: label },
    h("div", { class: "fill", style: "width:" + pct + "%" }),
    h("span", { class: "label" }, label));
}

function stateBadge(state) {
  return h("span", { class: "state state-" + state }, state);
}

/** Replace `el`'s content with `children`. */
function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
}

/** Show a one-line message (an error from the API, or a notice) in the page's message area. */
function notify(text, kind) {
  const area = document.getElementById("message");
  if (!area) return;
  fill(area, text ? h("div", { class: "notice " + (kind || "error"), role: "alert" }, text) : []);
}

/** Run fn every `ms` milliseconds, the next run only after the last has finished. */
function every(ms, fn) {
  let stopped = false;
  async function tick() {
    if (stopped) return;
    try { await fn(); } catch (err) { notify(err.message); }
    setTimeout(tick, ms);
  }
  tick();
  return () => { stopped = true; };
}

function when(ts) {
  return new Date(ts * 1000).toLocaleTimeString();
}

function header() {
  const nav = h("nav", {},
    h("a", { href: "/", class: "brand" }, "turnout"),
    h("a", { href: "/" }, "Tasks"),
    h("a", { href: "/new" }, "New task"),
    localStorage.getItem(TOKEN_KEY) ? h("a", { href: "/login", class: "right", onclick: () => {
      localStorage.removeItem(TOKEN_KEY);
    } }, "Log out") : null);
  document.body.prepend(nav);
}

document.addEventListener("DOMContentLoaded", header);
