"use strict";
// The text-to-image page: submit a job, follow it over Server-Sent Events
// (polling when those fail), show the images, keep the recent list current.
// Everything user-provided reaches the DOM through textContent or attributes.
(function () {
  const form = document.getElementById("generate-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);

  const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
  const STATUSES = new Set(["queued", "running", "succeeded", "failed", "canceled"]);
  const FIELDS = ["prompt", "negative_prompt", "model", "width", "height", "steps", "num_images", "guidance", "seed"];
  const INTEGERS = ["width", "height", "steps", "num_images", "seed"];
  const PIXELATED_UP_TO = 256;  // images this small are scaled up with hard pixel edges

  const ui = {
    card: $("result-card"), status: $("status"), elapsed: $("elapsed"),
    progressWrap: $("progress-wrap"), progress: $("progress"), progressLabel: $("progress-label"),
    result: $("result"), resultMeta: $("result-meta"), error: $("error"),
    submit: $("submit"), cancel: $("cancel"), recent: $("recent"), model: $("model"),
  };
  // The session's CSRF token, sent with every request that changes something.
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const CSRF = csrfMeta ? csrfMeta.getAttribute("content") : "";
  const RECENT_URL = "/api/v1/jobs?limit=" + (parseInt(ui.recent.dataset.limit, 10) || 12) + "&task=text-to-image";

  let current = null;     // id of the job being followed
  let source = null;      // its EventSource
  let pollTimer = null;
  let clockTimer = null;
  let startedAt = 0;

  // ---- small helpers -------------------------------------------------------

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function seconds(ms) {
    return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + " s";
  }

  function readJson(response) {
    return response.text().then((text) => {
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
      return { ok: response.ok, status: response.status, data };
    });
  }

  // ---- errors --------------------------------------------------------------

  function showError(text) {
    ui.error.textContent = text || "";
    ui.error.hidden = !text;
  }

  function setFieldError(name, message) {
    const input = $(name), box = $(name + "-error");
    if (!input || !box) return false;
    box.textContent = message;
    box.hidden = false;
    input.setAttribute("aria-invalid", "true");
    const details = input.closest("details");
    if (details) details.open = true;
    return true;
  }

  function clearFieldError(name) {
    const input = $(name), box = $(name + "-error");
    if (box) { box.textContent = ""; box.hidden = true; }
    if (input) input.removeAttribute("aria-invalid");
  }

  function clearErrors() {
    FIELDS.forEach(clearFieldError);
    showError("");
  }

  // Pydantic's wording, said the way a form would say it.
  function friendly(name, d) {
    const ctx = d.ctx || {};
    switch (d.type) {
      case "multiple_of": return "Use a multiple of " + ctx.multiple_of + ".";
      case "greater_than_equal": return "Use " + ctx.ge + " or more.";
      case "less_than_equal": return "Use " + ctx.le + " or less.";
      case "int_from_float": case "int_parsing": case "int_type": return "Use a whole number.";
      case "float_parsing": case "float_type": return "Enter a number.";
      case "string_too_short": return name === "prompt" ? "Write a prompt first." : d.msg;
      case "string_too_long": return "Use at most " + ctx.max_length + " characters.";
      default: return d.msg || "Invalid value.";
    }
  }

  // Place each of the API's {loc, msg} details under its field; anything
  // that belongs to no field goes to the message under the buttons.
  function showApiError(data, status) {
    const err = data && data.error;
    if (!err) { showError("The server answered " + status + ". Try again in a moment."); return; }
    const details = Array.isArray(err.details) ? err.details : [];
    const loose = [];
    let first = null;
    for (const d of details) {
      const loc = Array.isArray(d.loc) ? d.loc.map(String) : [];
      const name = loc[loc.length - 1];
      const forField = FIELDS.includes(name) && (loc.includes("params") || name === "model");
      if (forField && setFieldError(name, friendly(name, d))) {
        first = first || name;
      } else {
        loose.push((loc.slice(1).join(".") || "request") + ": " + (d.msg || "invalid"));
      }
    }
    if (loose.length) showError(loose.join("\n"));
    else if (first) showError("Please fix the highlighted field" + (details.length > 1 ? "s" : "") + ".");
    else showError(err.message || "The request failed (" + status + ").");
    if (first) $(first).focus();
  }

  // ---- the form ------------------------------------------------------------

  // Checks the browser can make without the server; the API checks the rest.
  function checkLocally() {
    let first = null;
    if (!$("prompt").value.trim()) { setFieldError("prompt", "Write a prompt first."); first = first || "prompt"; }
    for (const name of INTEGERS.concat(["guidance"])) {
      if ($(name).validity.badInput) { setFieldError(name, "Enter a number."); first = first || name; }
    }
    if (first) {
      showError("Please fix the highlighted field.");
      $(first).focus();
    }
    return !first;
  }

  function readParams() {
    const params = { prompt: $("prompt").value };
    const negative = $("negative_prompt").value;
    if (negative.trim()) params.negative_prompt = negative;
    for (const name of INTEGERS) {
      const value = $(name).value.trim();
      if (value !== "") params[name] = Number(value);  // 65.5 stays 65.5 so the API can say why it is wrong
    }
    const guidance = $("guidance").value.trim();
    if (guidance !== "") params.guidance = Number(guidance);
    return params;
  }

  function applyModel() {
    const option = ui.model.selectedOptions[0];
    if (!option) return;
    let defaults = {}, limits = {};
    try { defaults = JSON.parse(option.dataset.defaults || "{}"); } catch (_) { /* keep {} */ }
    try { limits = JSON.parse(option.dataset.limits || "{}"); } catch (_) { /* keep {} */ }
    for (const name of ["width", "height", "steps", "guidance"]) {
      if (name in defaults) $(name).value = defaults[name];
      if (limits["max_" + name]) $(name).max = limits["max_" + name];
    }
    $("model-hint").textContent = option.dataset.description || "";
  }

  // ---- progress and result -------------------------------------------------

  function setState(state) {
    ui.card.dataset.state = state;
    // Busy marks the images only: the status line must keep speaking meanwhile.
    ui.result.setAttribute("aria-busy", state === "queued" || state === "running" ? "true" : "false");
  }

  function setProgress(step, total, waiting) {
    ui.progressWrap.hidden = false;
    if (waiting) {
      ui.progress.removeAttribute("value");  // indeterminate while queued
      ui.progressLabel.textContent = "Waiting…";
      return;
    }
    const max = total > 0 ? total : 1;
    ui.progress.max = max;
    ui.progress.value = Math.min(Math.max(step, 0), max);
    ui.progressLabel.textContent = total > 0 ? "Step " + step + " of " + total : "";
  }

  function statusText(job) {
    switch (job.status) {
      case "queued":
        return job.attempts ? "Waiting to retry (attempt " + (job.attempts + 1) + " of " + job.max_attempts + ")…" : "Queued…";
      case "running": return "Generating…";
      case "succeeded": return job.cache_hit ? "Done (an identical earlier job answered it)." : "Done.";
      case "failed": return "Failed: " + (job.error ? job.error.message : "unknown error");
      case "canceled": return "Canceled.";
      default: return String(job.status);
    }
  }

  function render(job) {
    const p = job.progress || { step: 0, total: 0 };
    setState(STATUSES.has(job.status) ? job.status : "idle");
    if (job.status === "succeeded" && !p.total) setProgress(1, 1, false);  // answered from the cache
    else setProgress(p.step, p.total, job.status === "queued" && !p.step);
    ui.status.textContent = statusText(job);
    if (job.status === "succeeded") showImages(job);
    else if (job.status === "failed" || job.status === "canceled") {
      ui.result.replaceChildren(make("div", "empty-result", job.status === "canceled" ? "Canceled: no image." : "No image."));
    }
    if (TERMINAL.has(job.status)) finish(job);
  }

  function showImages(job) {
    ui.result.replaceChildren();
    const outputs = Array.isArray(job.outputs) ? job.outputs : [];
    ui.result.classList.toggle("multi", outputs.length > 1);
    outputs.forEach((out, index) => {
      const figure = make("figure");
      const link = make("a");
      link.href = out.url;
      const img = make("img");
      img.src = out.url;
      img.alt = job.params.prompt + (outputs.length > 1 ? " (image " + (index + 1) + ")" : "");
      if (out.width && out.height) { img.width = out.width; img.height = out.height; }
      if ((out.width || 0) <= PIXELATED_UP_TO) img.classList.add("pixelated");
      link.appendChild(img);
      const caption = make("figcaption");
      caption.appendChild(make("span", null, out.width && out.height ? out.width + "×" + out.height : ""));
      const download = make("a", null, "Download");
      download.href = out.url;
      download.setAttribute("download", "aptmagic-" + job.id.slice(0, 8) + "-" + (index + 1) + ".png");
      caption.appendChild(download);
      figure.append(link, caption);
      ui.result.appendChild(figure);
    });
    const bits = [job.model, "seed " + job.seed];
    if (job.timings && job.timings.inference_ms) bits.push("model time " + seconds(job.timings.inference_ms));
    ui.resultMeta.textContent = bits.join(" · ");
  }

  // On a narrow screen the result sits below the form: bring it into view.
  function revealResult() {
    const box = ui.card.getBoundingClientRect();
    if (box.top > window.innerHeight * 0.6) {
      const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      ui.card.scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "start" });
    }
  }

  function startClock() {
    startedAt = performance.now();
    ui.elapsed.textContent = "";
    clockTimer = setInterval(() => { ui.elapsed.textContent = seconds(performance.now() - startedAt); }, 200);
  }

  function stopClock(job) {
    if (clockTimer) { clearInterval(clockTimer); clockTimer = null; }
    const t = job && job.timings;
    if (t && t.created_at && t.finished_at) {
      const ms = Date.parse(t.finished_at) - Date.parse(t.created_at);
      if (ms >= 0) { ui.elapsed.textContent = seconds(ms); return; }
    }
    if (startedAt) ui.elapsed.textContent = seconds(performance.now() - startedAt);
  }

  function finish(job) {
    if (source) { source.close(); source = null; }
    if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
    stopClock(job);
    ui.submit.disabled = false;
    ui.cancel.hidden = true;
    ui.cancel.disabled = false;
    if (ui.cancel.contains(document.activeElement)) ui.submit.focus();
    current = null;
    refreshRecent();
  }

  // ---- following a job -----------------------------------------------------

  function poll(id, delay) {
    pollTimer = setTimeout(() => {
      fetch("/api/v1/jobs/" + encodeURIComponent(id), { headers: { Accept: "application/json" } })
        .then(readJson)
        .then(({ ok, status, data }) => {
          if (current !== id) return;
          if (!ok) {
            if (status === 404) { showError("The job is gone."); finish(null); return; }
            poll(id, 2000);
            return;
          }
          render(data);
          if (current === id) poll(id, 1000);
        })
        .catch(() => { if (current === id) poll(id, 2000); });
    }, delay);
  }

  function follow(job) {
    current = job.id;
    render(job);
    if (current !== job.id) return;  // already finished (a cache hit, or canceled at once)
    if (!window.EventSource) { poll(job.id, 500); return; }
    source = new EventSource(job.links.events);
    source.addEventListener("job", (e) => { if (current === job.id) render(JSON.parse(e.data)); });
    source.addEventListener("progress", (e) => {
      if (current !== job.id) return;
      const d = JSON.parse(e.data);
      if (ui.card.dataset.state !== "running") { setState("running"); ui.status.textContent = "Generating…"; }
      setProgress(d.step, d.total, false);
    });
    source.addEventListener("status", (e) => {
      if (current !== job.id) return;
      const d = JSON.parse(e.data);
      if (d.status === "running" && ui.card.dataset.state !== "running") {
        setState("running");
        ui.status.textContent = "Generating…";
        setProgress(0, job.progress ? job.progress.total : 0, false);
      } else if (d.status === "queued") {
        setState("queued");
        setProgress(0, 0, true);
      }
    });
    source.addEventListener("retry", (e) => {
      if (current !== job.id) return;
      const d = JSON.parse(e.data);
      setState("queued");
      setProgress(0, 0, true);
      ui.status.textContent = "Attempt " + d.attempts + " failed (" + d.error + "). Retrying in " + Math.round(d.delay || 0) + " s…";
    });
    source.onerror = () => {
      if (current !== job.id || !source) return;
      source.close();
      source = null;
      poll(job.id, 0);  // the stream broke: fall back to polling
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (current) return;
    clearErrors();
    if (!checkLocally()) return;
    ui.submit.disabled = true;
    const before = { state: ui.card.dataset.state, status: ui.status.textContent };
    const restore = () => {
      setState(before.state);
      ui.status.textContent = before.status;
      ui.submit.disabled = false;
    };
    ui.status.textContent = "Submitting…";
    const body = { task: "text-to-image", model: ui.model.value, params: readParams() };
    fetch("/api/v1/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": CSRF },
      body: JSON.stringify(body),
    })
      .then(readJson)
      .then(({ ok, status, data }) => {
        if (!ok || !data || !data.id) {
          restore();
          showApiError(data, status);
          return;
        }
        ui.result.classList.remove("multi");
        ui.result.replaceChildren(make("div", "empty-result pending", "Working on it…"));
        ui.resultMeta.textContent = "";
        ui.cancel.hidden = false;
        revealResult();
        startClock();
        follow(data);
        refreshRecent();
      })
      .catch(() => {
        restore();
        showError("Could not reach the server. Check the connection and try again.");
      });
  });

  ui.cancel.addEventListener("click", () => {
    const id = current;
    if (!id) return;
    ui.cancel.disabled = true;
    ui.status.textContent = "Canceling…";
    fetch("/api/v1/jobs/" + encodeURIComponent(id) + "/cancel", { method: "POST", headers: { Accept: "application/json", "X-CSRF-Token": CSRF } })
      .then(readJson)
      .then(({ ok, status, data }) => {
        if (current !== id) return;
        if (ok && data) { if (TERMINAL.has(data.status)) render(data); return; }
        if (status !== 409) { showApiError(data, status); ui.cancel.disabled = false; }
        // 409: it ended meanwhile; its last event is on the way.
      })
      .catch(() => { ui.cancel.disabled = false; showError("Could not reach the server to cancel."); });
  });

  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!ui.submit.disabled) form.requestSubmit(ui.submit);
    }
  });

  for (const name of FIELDS) {
    const input = $(name);
    if (input) input.addEventListener("input", () => clearFieldError(name));
  }
  ui.model.addEventListener("change", applyModel);

  // ---- recent jobs ---------------------------------------------------------

  function recentItem(job) {
    const status = STATUSES.has(job.status) ? job.status : "unknown";
    const prompt = job.params && typeof job.params.prompt === "string" ? job.params.prompt : "";
    const li = make("li", "job");
    li.dataset.id = job.id;
    li.dataset.status = status;
    const out = Array.isArray(job.outputs) && job.outputs.length ? job.outputs[0] : null;
    if (out) {
      const link = make("a", "thumb");
      link.href = out.url;
      const img = make("img");
      img.src = out.url;
      img.alt = prompt;
      img.loading = "lazy";
      if (out.width && out.height) { img.width = out.width; img.height = out.height; }
      link.appendChild(img);
      li.appendChild(link);
    } else {
      li.appendChild(make("div", "thumb placeholder", status === "queued" || status === "running" ? "In progress…" : "No image"));
    }
    li.appendChild(make("span", "badge badge-" + status, status));
    const p = make("p", "prompt", prompt);
    p.title = prompt;
    li.appendChild(p);
    let meta = String(job.model);
    if (job.params && job.params.width && job.params.height) meta += " · " + job.params.width + "×" + job.params.height;
    if (job.cache_hit) meta += " · cached";
    li.appendChild(make("p", "meta", meta));
    return li;
  }

  function renderRecent(jobs) {
    if (!jobs.length) { ui.recent.replaceChildren(make("li", "empty", "No jobs yet.")); return; }
    ui.recent.replaceChildren(...jobs.map(recentItem));
  }

  let recentRequest = 0;
  function refreshRecent() {
    const mine = ++recentRequest;
    return fetch(RECENT_URL, { headers: { Accept: "application/json" } })
      .then(readJson)
      .then(({ ok, data }) => {
        if (mine !== recentRequest || !ok || !data || !Array.isArray(data.items)) return;
        renderRecent(data.items);
      })
      .catch(() => { /* the list stays as it was */ });
  }

  $("refresh-recent").addEventListener("click", refreshRecent);
})();
