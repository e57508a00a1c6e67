// The task page's reports: precheck results, the verification report, and the sessions of
// the task's two databases. Each renders what one API call returned.
"use strict";

const SHOWN_KEYS = 50;  // differing keys listed per kind and table; the count says the rest

function renderPrecheck(result) {
  document.getElementById("precheck-section").hidden = false;
  const body = result.ok
    ? [h("p", { class: "ok" }, "No problems: " + result.tables.length + " tables would move."),
       h("ul", { class: "plain" }, result.tables.map((t) =>
         h("li", {}, t.source === t.dest ? t.source : t.source + " → " + t.dest))),
       ...(result.ddl ? [h("p", { class: "muted" }, result.ddl)] : []),
       ...(result.switchover && result.switchover.length
         ? [h("p", {}, "A switchover's freeze would stop at:"),
            h("ul", { class: "problems" }, result.switchover.map((p) => h("li", {}, p)))]
         : [])]
    : [h("p", { class: "bad" }, result.problems.length + " problem(s) to fix before starting:"),
       h("ul", { class: "problems" }, result.problems.map((p) => h("li", {}, p)))];
  fill(document.getElementById("precheck-result"), body);
}

/** Show the verification's state; while it runs, ask again every second. */
function watchVerify(job) {
  const button = document.getElementById("verify");
  button.disabled = job.state === "running";
  if (job.state === "idle") return;
  document.getElementById("verify-section").hidden = false;
  const area = document.getElementById("verify-result");
  if (job.state === "running") {
    fill(area, h("p", { class: "muted" }, "Verifying… " + Math.round(job.elapsed_s) + " s"),
      h("ul", { class: "plain small" }, job.progress.map((p) => h("li", {}, p.table + ": " +
        p.rows_done.toLocaleString() + (p.rows_total === null ? "" : " / " +
        p.rows_total.toLocaleString()) + " rows"))));
    setTimeout(() => api("GET", TASK + "/verify").then(watchVerify)
      .catch((err) => notify(err.message)), 1000);
  } else if (job.state === "failed") {
    fill(area, h("p", { class: "bad" }, "Verification failed: " + job.error));
  } else {
    fill(area, verifyReport(job));
  }
}

function keyText(key) {
  return typeof key === "string" ? key : JSON.stringify(key);
}

function keyList(kind, keys) {
  if (!keys.length) return null;
  const more = keys.length > SHOWN_KEYS ? " … and " + (keys.length - SHOWN_KEYS) + " more" : "";
  return h("div", { class: "keys" }, h("strong", {}, kind + " (" + keys.length + "): "),
    keys.slice(0, SHOWN_KEYS).map(keyText).join(", ") + more);
}

function verifyReport(job) {
  const result = job.result;
  const verdict = result.consistent
    ? h("p", { class: "ok verdict" }, "Consistent: every table matches.")
    : h("p", { class: "bad verdict" }, "Not consistent: the rows below differ.");
  const rows = result.tables.map((t) => {
    const problems = t.problems || [];
    const differs = t.missing.length + t.extra.length + t.different.length + problems.length;
    return [
      h("tr", { class: differs ? "differs" : "" },
        h("td", {}, t.source === t.dest ? t.source : t.source + " → " + t.dest),
        h("td", { class: "num" }, t.rows_source.toLocaleString()),
        h("td", { class: "num" }, t.rows_dest.toLocaleString()),
        h("td", { class: "num" }, t.missing.length),
        h("td", { class: "num" }, t.extra.length),
        h("td", { class: "num" }, t.different.length)),
      differs ? h("tr", { class: "detail" }, h("td", { colspan: 6 },
        keyList("missing on the destination", t.missing),
        keyList("extra on the destination", t.extra),
        keyList("different", t.different),
        problems.map((p) => h("div", { class: "keys" }, p)))) : null,
    ];
  });
  return [verdict,
    h("table", { class: "verify" },
      h("thead", {}, h("tr", {}, ["Table", "Rows source", "Rows destination", "Missing",
        "Extra", "Different"].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows)),
    h("p", { class: "small muted" }, "finished " + when(job.finished) + " in " +
      job.elapsed_s.toFixed(1) + " s")];
}

function sessionsTable(side, sessions) {
  if (!sessions.length) return h("p", { class: "muted" }, "no sessions");
  return h("table", { class: "sessions" },
    h("thead", {}, h("tr", {}, ["id", "user", "program", "state", ""].map((c) => h("th", {}, c)))),
    h("tbody", {}, sessions.map((s) => h("tr", { class: s.writing ? "writing" : "" },
      h("td", {}, s.id), h("td", {}, s.user), h("td", { class: "program" }, s.program),
      h("td", {}, s.own ? "turnout" : s.writing ? "writing" : s.state),
      h("td", {}, s.own ? null : h("button", { class: "small danger", onclick: (e) =>
        endSession(e.target, side, s) }, "End…"))))));
}

async function endSession(button, side, session) {
  if (!confirm(`Disconnect session ${session.id} (${session.program || session.user})? ` +
               "Its open transaction is rolled back.")) return;
  button.disabled = true;
  try {
    const left = await api("POST", `${TASK}/sessions/${side}/end`, { ids: [session.id] });
    fill(document.getElementById("sessions-" + side), sessionsTable(side, left));
  } catch (err) {
    notify(err.message);
    button.disabled = false;
  }
}

async function loadSessions() {
  for (const side of ["source", "dest"]) {
    const area = document.getElementById("sessions-" + side);
    try {
      fill(area, sessionsTable(side, await api("GET", `${TASK}/sessions/${side}`)));
    } catch (err) {
      fill(area, h("p", { class: "bad" }, err.message));
    }
  }
}
