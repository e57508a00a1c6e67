// The task list: state and a progress bar per task, refreshed every second.
"use strict";

function taskRow(task) {
  return h("tr", { "data-task": task.name },
    h("td", {}, h("a", { href: "/tasks/" + encodeURIComponent(task.name) }, task.name)),
    h("td", {}, stateBadge(task.state)),
    h("td", { class: "wide" }, progressBar(task)),
    h("td", { class: "urls" }, task.source, h("br"), "→ " + task.dest));
}

document.addEventListener("DOMContentLoaded", () => {
  every(1000, async () => {
    const tasks = await api("GET", "/tasks");
    fill(document.getElementById("tasks"), tasks.map(taskRow));
    document.getElementById("empty").hidden = tasks.length > 0;
    notify("");
  });
});
