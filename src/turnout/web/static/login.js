// The login page: try the token on the API, keep it, and go back where the user was.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    localStorage.setItem(TOKEN_KEY, form.elements.namedItem("token").value);
    try {
      await api("GET", "/tasks");
    } catch (err) {
      localStorage.removeItem(TOKEN_KEY);
      notify("that token is not this server's: " + err.message);
      return;
    }
    const next = new URLSearchParams(location.search).get("next") || "/";
    location.href = next.startsWith("/") && !next.startsWith("//") ? next : "/";
  });
});
