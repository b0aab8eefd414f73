"use strict";
// Shared by every page: API calls with the session's CSRF token, the API's JSON
// errors shown next to their fields, and small DOM helpers. Data from the server
// or the user only ever reaches the page through textContent or attributes.
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const CSRF = meta ? meta.getAttribute("content") : "";

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function link(href, text, className) {
    const a = make("a", className, text);
    a.href = href;
    return a;
  }

  function readJson(response) {
    return response.text().then((text) => {
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
      return { ok: response.ok, status: response.status, data };
    });
  }

  // fetch with JSON in and out; never rejects: a network failure is status 0.
  function api(method, url, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = CSRF;
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(readJson).catch(() => ({ ok: false, status: 0, data: null }));
  }

  function message(result) {
    const err = result && result.data && result.data.error;
    if (err && err.message) return err.message;
    if (!result || result.status === 0) return "Could not reach the server. Check the connection and try again.";
    if (result.status === 401) return "Your session has ended. Sign in again.";
    return "The server answered " + result.status + ". Try again in a moment.";
  }

  // Pydantic's wording, said the way a form would say it.
  function friendly(d) {
    const ctx = d.ctx || {};
    switch (d.type) {
      case "multiple_of": return "Use a multiple of " + ctx.multiple_of + ".";
      case "greater_than_equal": return "Use " + ctx.ge + " or more.";
      case "greater_than": return "Use more than " + ctx.gt + ".";
      case "less_than_equal": return "Use " + ctx.le + " or less.";
      case "int_from_float": case "int_parsing": case "int_type": return "Use a whole number.";
      case "float_parsing": case "float_type": return "Enter a number.";
      case "string_too_short": return "This cannot be empty.";
      case "string_too_long": return "Use at most " + ctx.max_length + " characters.";
      default: return d.msg || "Invalid value.";
    }
  }

  // Errors live in <p id="NAME-error"> under the control #NAME (with an optional id prefix).
  function setFieldError(name, text, prefix) {
    const input = document.getElementById((prefix || "") + name);
    const box = document.getElementById((prefix || "") + name + "-error");
    if (!input || !box) return false;
    box.textContent = text;
    box.hidden = false;
    input.setAttribute("aria-invalid", "true");
    const details = input.closest("details");
    if (details) details.open = true;
    return true;
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((box) => { box.textContent = ""; box.hidden = true; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  }

  function showError(box, text) {
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  // Place each {loc, msg} detail under its field; the rest goes to the form's message box.
  // ``rename`` maps an API field name to a control id (e.g. messages -> message).
  function showApiError(result, box, options) {
    const opts = options || {};
    const err = result && result.data && result.data.error;
    const details = err && Array.isArray(err.details) ? err.details : [];
    const loose = [];
    let first = null;
    for (const d of details) {
      const loc = Array.isArray(d.loc) ? d.loc.map(String) : [];
      let name = loc.length ? loc[loc.length - 1] : "";
      if (/^\d+$/.test(name)) name = loc[loc.length - 2] || name;
      if (d.field) name = String(d.field);
      if (opts.rename && opts.rename[name]) name = opts.rename[name];
      if (name && setFieldError(name, friendly(d), opts.prefix)) first = first || name;
      else loose.push(friendly(d));
    }
    if (first) {
      showError(box, loose.length ? loose.join("\n") : (err && err.code === "blocked_content" ? err.message : "Please fix the highlighted field" + (details.length > 1 ? "s." : ".")));
      const el = document.getElementById((opts.prefix || "") + first);
      if (el) el.focus();
    } else {
      showError(box, message(result));
    }
  }

  let toastTimer = null;
  function toast(text) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  function when(iso) {
    const t = Date.parse(iso);
    if (isNaN(t)) return "";
    const s = Math.max(0, (Date.now() - t) / 1000);
    if (s < 60) return "just now";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    if (s < 86400 * 30) return Math.floor(s / 86400) + " d ago";
    return new Date(t).toLocaleDateString();
  }

  // <time datetime> elements rendered by the server get a relative label.
  function relativeTimes(root) {
    (root || document).querySelectorAll("time[data-relative]").forEach((el) => {
      const label = when(el.getAttribute("datetime"));
      if (label) { el.title = el.textContent; el.textContent = label; }
    });
  }

  // A destructive button asks twice: the first press arms it ("Press again to delete"),
  // a second press within 5 s goes ahead. No modal dialog, so keyboards and screen readers keep their place.
  function confirmed(button) {
    if (button.dataset.armed === "true") return true;
    const label = button.textContent;
    button.dataset.armed = "true";
    button.textContent = button.dataset.confirm || "Press again to confirm";
    button.classList.add("armed");
    setTimeout(() => {
      button.dataset.armed = "false";
      button.textContent = label;
      button.classList.remove("armed");
    }, 5000);
    return false;
  }

  window.App = { api, make, link, message, friendly, setFieldError, clearErrors, showError, showApiError, toast, when, relativeTimes, confirmed, CSRF };
  document.addEventListener("DOMContentLoaded", () => relativeTimes(document));
})();
