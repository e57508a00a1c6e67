// The task list: state and a progress bar per task, refreshed every second.
"use strict";

function taskRow(task) {
  return h("tr", { "data-task": task.name },
    h("td", {}, h("a", { href: "/tasks/" + encodeURIComponent(task.name) }, task.name)),
    h("td", {}, stateBadge(task.state), task.agent ? [h("br"), "agent " + task.agent] : null),
    h("td", { class: "wide" }, progressBar(task)),
    h("td", { class: "urls" }, task.source, h("br"), "→ " + task.dest));
}

function agentRow(agent) {
  return h("tr", { "data-agent": agent.name },
    h("td", {}, agent.name),
    h("td", {}, agent.host + " (pid " + agent.pid + ")"),
    h("td", {}, agent.alive ? "alive" : "gone, seen " + agent.seen_s_ago + " s ago"),
    h("td", {}, agent.tasks.length + "/" + agent.max_tasks + ": " +
      (agent.tasks.join(", ") || "no tasks")));
}

document.addEventListener("DOMContentLoaded", () => {
  every(1000, async () => {
    const tasks = await api("GET", "/tasks");
    fill(document.getElementById("tasks"), tasks.map(taskRow));
    document.getElementById("empty").hidden = tasks.length > 0;
    const agents = await api("GET", "/agents");
    fill(document.getElementById("agents"), agents.map(agentRow));
    document.getElementById("agents-section").hidden = agents.length === 0;
    notify("");
  });
});
