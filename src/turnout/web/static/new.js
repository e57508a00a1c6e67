// The create-task form: the browser checks what it can say at once (required, name shape),
// the API checks the rest and its one-line message is shown at the top of the form.
"use strict";

function words(value) {
  return value.split(/[\s,]+/).filter(Boolean);
}

function lines(value) {
  return value.split("\n").map((s) => s.trim()).filter(Boolean);
}

function number(input) {
  return input.value === "" ? null : Number(input.value);
}

/** Mark each invalid field with its own message; true when all are valid. */
function checkFields(form) {
  let ok = true;
  for (const input of form.querySelectorAll("input[data-hint]")) {
    const id = "error-" + input.name;
    document.getElementById(id)?.remove();
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
    if (input.checkValidity()) continue;
    ok = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    const why = input.validity.valueMissing ? "required" : input.dataset.hint;
    input.parentElement.after(h("div", { class: "field-error", id }, why));
  }
  const types = form.querySelectorAll("input[name=types]:checked").length;
  fill(form.querySelector("[data-for=types]"), types ? [] : "pick at least one type");
  return ok && types > 0;
}

function requestBody(form) {
  const f = (name) => form.elements.namedItem(name);
  const options = {
    chunk_rows: number(f("chunk_rows")),
    batch_changes: number(f("batch_changes")),
    poll_interval: number(f("poll_interval")),
    direct_copy: f("direct_copy").checked ? null : false,
    max_rows_per_second: number(f("max_rows_per_second")),
    max_bytes_per_second: number(f("max_bytes_per_second")),
  };
  const alerts = { webhook: f("webhook").value.trim() || null };
  for (const key of ["delay_s", "delay_for_s"]) {
    if (number(f(key)) !== null) alerts[key] = number(f(key));
  }
  return {
    name: f("name").value.trim(),
    source: f("source").value.trim(),
    dest: f("dest").value.trim(),
    types: [...form.querySelectorAll("input[name=types]:checked")].map((i) => i.value),
    tables: words(f("tables").value),
    exclude: words(f("exclude").value),
    rename: lines(f("rename").value),
    cast: lines(f("cast").value),
    where: lines(f("where").value),
    mask: lines(f("mask").value),
    options,
    alerts,
  };
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("create");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    notify("");
    if (!checkFields(form)) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const task = await api("POST", "/tasks", requestBody(form));
      location.href = "/tasks/" + encodeURIComponent(task.name);
    } catch (err) {
      notify(err.message);
    } finally {
      button.disabled = false;
    }
  });
});
