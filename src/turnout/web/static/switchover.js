// The task page's switchover section: the buttons, the checklist of steps and what the
// running action says. It renders GET /api/tasks/NAME/switchover, which task.js polls.
"use strict";

let switchStatus = null;  // the last checklist the server sent
let gone = false;  // finished: the task no longer exists, so nothing is polled any more

const ACTION_TITLES = { switchover: "Switchover", abort: "Abort", rollback: "Rollback",
                        finish: "Finish" };

/** A step's look: ticked up to the last one done; the next one running or failed. */
function stepClass(index, at, job) {
  if (index <= at) return "done";
  if (index !== at + 1 || job.action !== "switchover") return "todo";
  return job.state === "running" ? "running" : job.state === "failed" ? "failed" : "todo";
}

function renderSwitchover(status) {
  switchStatus = status;
  const at = status.steps.indexOf(status.done);  // -1 before any step
  fill(document.getElementById("checklist"), status.steps.map((step, i) => {
    const look = stepClass(i, at, status.job);
    return h("li", { class: look, "data-step": step, "aria-current": look === "running" && "step" },
      step.replaceAll("_", " "));
  }));
  renderJob(status.job);
  enableSwitch();
}

/** One line on the last action, and what it said, oldest first. */
function renderJob(job) {
  const title = ACTION_TITLES[job.action] || "";
  const line = document.getElementById("switch-job");
  line.className = job.state === "failed" ? "bad" : "small muted";
  fill(line, job.state === "idle" ? "No switchover yet."
    : job.state === "running" ? title + " running… " + Math.round(job.elapsed_s) + " s"
    : job.state === "failed" ? title + " failed: " + job.error
    : title + " done in " + job.elapsed_s.toFixed(1) + " s");
  fill(document.getElementById("said"), job.messages.map((m) => h("li", {}, m)));
}

/** Nothing while an action runs; rollback and finish only after the last step. */
function enableSwitch() {
  if (!switchStatus) return;
  const busy = gone || switchStatus.job.state === "running";
  const switched = switchStatus.done === switchStatus.steps[switchStatus.steps.length - 1];
  document.getElementById("switchover").disabled = busy || switched;
  document.getElementById("abort").disabled = busy || switched;
  document.getElementById("rollback").disabled = busy || !switched;
  document.getElementById("finish").disabled = busy || !switched;
}

/** The form's options: an empty grace keeps the server's default. */
function switchOptions() {
  const grace = document.getElementById("grace").value;
  const options = { kill_sessions: document.getElementById("kill-sessions").checked };
  if (grace !== "") options.grace = Number(grace);
  return options;
}

/** After finish there is no task to poll: the answer is shown and the buttons rest. */
function showFinished(job) {
  gone = true;
  renderJob(job);
  document.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  notify(`Task ${NAME} is finished and deleted; its reverse task too.`, "info");
}

async function finishTask(button) {
  if (!confirm(`Finish ${NAME}? Both tasks stop and are deleted, and everything turnout ` +
               "installed on either database is removed. There is no way back afterwards.")) return;
  button.disabled = true;
  notify("");
  try {
    showFinished(await api("POST", TASK + "/finish", { keep_accounts: false }));
  } catch (err) {
    notify(err.message);
    enableSwitch();
  }
}

function bindSwitchover() {
  const post = (path, body) => async () => renderSwitchover(await api("POST", TASK + path, body));
  bind("switchover", () => post("/switchover", switchOptions())(),
    `Switch ${NAME} over? Writes to the source are frozen until the reverse task is ready; ` +
    "then the workload may move to the destination.");
  bind("abort", post("/switchover/abort"), `Abort the switchover of ${NAME}? The reverse ` +
    "task is deleted, writes are allowed on the source and the forward task runs again.");
  bind("rollback", () => post("/rollback", { kill_sessions: switchOptions().kill_sessions })(),
    `Roll ${NAME} back? Writes to the destination are frozen until all written there is ` +
    "back on the source; the forward task then runs again.");
  const finish = document.getElementById("finish");
  finish.addEventListener("click", () => finishTask(finish));
}
