// The task page's throttling and alerts: GET /settings fills the form once, the buttons
// PATCH /options and /alerts (as `turnout task set` does); a running task takes them
// within a second. The webhook is never shown whole (its path is often its token).
"use strict";

/** A number field's value, or null when it is empty (left as it is). */
function numberOf(id) {
  const value = document.getElementById(id).value;
  return value === "" ? null : Number(value);
}

function renderSettings(settings) {
  document.getElementById("max-rows").value = settings.options.max_rows_per_second;
  document.getElementById("max-bytes").value = settings.options.max_bytes_per_second;
  const a = settings.alerts;
  document.getElementById("alert-delay").value = a.delay_s;
  document.getElementById("alert-delay-for").value = a.delay_for_s;
  document.getElementById("webhook").value = "";
  document.getElementById("webhook-remove").disabled = !a.webhook;
  const delay = a.delay_s ? `, and when delayed more than ${a.delay_s} s for ${a.delay_for_s} s`
    : "";
  fill(document.getElementById("alerts-now"), a.webhook
    ? `Alerts go to ${a.webhook} on failure, stray writes and switchover steps that fail${delay}.`
    : "No webhook: no alerts are sent.");
}

async function loadSettings() {
  renderSettings(await api("GET", TASK + "/settings"));
}

function bindSettings() {
  bind("throttle-save", async () => {
    await api("PATCH", TASK + "/options", {
      max_rows_per_second: numberOf("max-rows"),
      max_bytes_per_second: numberOf("max-bytes"),
    });
    await loadSettings();
  });
  bind("alerts-save", async () => {
    const webhook = document.getElementById("webhook").value.trim();
    renderSettings(await api("PATCH", TASK + "/alerts", {
      webhook: webhook || null,
      delay_s: numberOf("alert-delay"),
      delay_for_s: numberOf("alert-delay-for"),
    }));
  });
  bind("webhook-remove", async () => {
    renderSettings(await api("PATCH", TASK + "/alerts", { webhook: "" }));
  }, "Remove the webhook? No alerts are sent until one is set again.");
  loadSettings().catch((err) => notify(err.message));
}
