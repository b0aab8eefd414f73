"use strict";
// The generate page, for every task: build the params from the form, upload a
// source file (drag and drop, with a preview), submit the job, follow it over
// Server-Sent Events (polling when those fail), stream text as it arrives,
// cancel, and show the result. Everything user-provided goes in as text.
(function () {
  const form = document.getElementById("generate-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const { api, make, link } = window.App;
  const TASK = form.dataset.task;
  const KIND = form.dataset.result;            // images, text or transcript
  const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
  const STATUSES = new Set(["queued", "running", "succeeded", "failed", "canceled"]);
  const PIXELATED_UP_TO = 256;
  const RENAME = { messages: "message", content: "message", length: TASK === "caption" ? "length" : "length" };

  const ui = {
    card: $("result-card"), status: $("status"), elapsed: $("elapsed"), progressWrap: $("progress-wrap"),
    progress: $("progress"), progressLabel: $("progress-label"), result: $("result"), meta: $("result-meta"),
    actions: $("result-actions"), error: $("error"), submit: $("submit"), cancel: $("cancel"), recent: $("recent"),
    model: $("model"),
  };
  let current = null, source = null, pollTimer = null, clockTimer = null, startedAt = 0;
  let streamed = null;  // the element text tokens are appended to

  // ---- params ------------------------------------------------------------

  function value(name) { const el = $(name); return el ? el.value : ""; }
  function number(name) {
    const raw = value(name).trim();
    return raw === "" ? undefined : Number(raw);  // 65.5 stays 65.5 so the API can say why it is wrong
  }

  function readParams() {
    const params = {};
    form.querySelectorAll("[data-param]").forEach((el) => {
      const name = el.name;
      if (!name || ["message", "system", "stop", "length_words"].includes(name)) return;
      const kind = el.dataset.param;
      if (kind === "bool") params[name] = el.checked;
      else if (kind === "int" || kind === "float") { const n = number(name); if (n !== undefined) params[name] = n; }
      else if (el.value.trim() !== "" || el.required) params[name] = el.value;
    });
    if (TASK === "text") {
      const messages = [];
      if (value("system").trim()) messages.push({ role: "system", content: value("system") });
      messages.push({ role: "user", content: value("message") });
      params.messages = messages;
      const stop = value("stop").split(",").map((s) => s.trim()).filter(Boolean);
      if (stop.length) params.stop = stop;
    }
    if (TASK === "caption" && number("length_words") !== undefined) params.length = number("length_words");
    return params;
  }

  function checkLocally() {
    let first = null;
    form.querySelectorAll("[required]").forEach((el) => {
      if (!el.value.trim()) { window.App.setFieldError(el.id, el.id === "prompt" ? "Write a prompt first." : "This cannot be empty."); first = first || el.id; }
    });
    if ($("source") && !$("source").value) { window.App.setFieldError("source", "Add a file first."); first = first || "source-file"; }
    form.querySelectorAll("input[type=number]").forEach((el) => {
      if (el.validity.badInput) { window.App.setFieldError(el.id, "Enter a number."); first = first || el.id; }
    });
    if (first) {
      window.App.showError(ui.error, "Please fix the highlighted field.");
      $(first).focus();
    }
    return !first;
  }

  function applyModel() {
    const option = ui.model && ui.model.selectedOptions[0];
    if (!option) return;
    let defaults = {}, limits = {};
    try { defaults = JSON.parse(option.dataset.defaults || "{}"); } catch (_) { /* keep {} */ }
    try { limits = JSON.parse(option.dataset.limits || "{}"); } catch (_) { /* keep {} */ }
    for (const name of ["width", "height", "steps", "guidance"]) {
      const el = $(name);
      if (!el) continue;
      if (name in defaults) el.value = defaults[name];
      if (limits["max_" + name]) el.max = limits["max_" + name];
    }
    $("model-hint").textContent = option.dataset.description || "";
  }

  // ---- upload ------------------------------------------------------------

  const drop = $("dropzone"), fileInput = $("source-file"), preview = $("source-preview"), uploadBar = $("upload-progress");

  function describe(upload) {
    const bits = [upload.original_name || "upload"];
    if (upload.width && upload.height) bits.push(upload.width + "×" + upload.height);
    if (upload.duration_seconds) bits.push(upload.duration_seconds.toFixed(1) + " s");
    bits.push(Math.max(1, Math.round(upload.size / 1024)) + " KB");
    return bits.join(" · ");
  }

  function showPreview(url, kind, caption) {
    preview.replaceChildren();
    let media;
    if (kind === "image") { media = make("img"); media.alt = "Preview of the source image"; }
    else if (kind === "audio" || kind === "video") { media = make(kind); media.controls = true; media.preload = "metadata"; }
    if (media) { media.src = url; preview.appendChild(media); }
    const row = make("div", "preview-row");
    row.appendChild(make("span", "muted", caption));
    const remove = make("button", "link small", "Remove");
    remove.type = "button";
    remove.addEventListener("click", () => { $("source").value = ""; preview.replaceChildren(); drop.dataset.state = "empty"; fileInput.value = ""; fileInput.focus(); });
    row.appendChild(remove);
    preview.appendChild(row);
    drop.dataset.state = "ready";
  }

  function upload(file) {
    window.App.clearErrors(form);
    if (!file) return;
    drop.dataset.state = "uploading";
    uploadBar.hidden = false;
    uploadBar.value = 0;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/uploads");
    xhr.setRequestHeader("X-CSRF-Token", window.App.CSRF);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) uploadBar.value = e.loaded / e.total; });
    xhr.addEventListener("load", () => {
      uploadBar.hidden = true;
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (_) { data = null; }
      if (xhr.status === 201 && data && data.id) {
        $("source").value = data.id;
        showPreview(data.url, data.media_kind, describe(data));
        ui.status.textContent = "File ready: " + describe(data) + ".";
      } else {
        drop.dataset.state = $("source").value ? "ready" : "empty";
        window.App.setFieldError("source", window.App.message({ status: xhr.status, data }));
      }
    });
    xhr.addEventListener("error", () => {
      uploadBar.hidden = true;
      drop.dataset.state = "empty";
      window.App.setFieldError("source", "The upload failed. Check the connection and try again.");
    });
    const body = new FormData();
    body.append("file", file, file.name);
    xhr.send(body);
  }

  if (drop) {
    fileInput.addEventListener("change", () => upload(fileInput.files[0]));
    ["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); }));
    ["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("over")));
    drop.addEventListener("drop", (e) => { e.preventDefault(); if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]); });
    const existing = preview.dataset.asset;
    if (existing) {
      const kind = (fileInput.accept || "").startsWith("image/") && TASK === "image-to-image" ? "image" : null;
      showPreview("/api/v1/assets/" + encodeURIComponent(existing), kind, "The source of the remixed job");
    }
  }

  // ---- progress and results ----------------------------------------------

  function setState(state) {
    ui.card.dataset.state = state;
    ui.result.setAttribute("aria-busy", state === "queued" || state === "running" ? "true" : "false");
  }

  function setProgress(step, total, waiting) {
    ui.progressWrap.hidden = false;
    if (waiting) { ui.progress.removeAttribute("value"); ui.progressLabel.textContent = "Waiting…"; return; }
    const max = total > 0 ? total : 1;
    ui.progress.max = max;
    ui.progress.value = Math.min(Math.max(step, 0), max);
    const unit = TASK === "text" || TASK === "summarize" ? "Token " : TASK === "transcribe" ? "Window " : "Step ";
    ui.progressLabel.textContent = total > 0 ? unit + step + " of " + total : "";
  }

  function statusText(job) {
    switch (job.status) {
      case "queued": return job.attempts ? "Waiting to retry (attempt " + (job.attempts + 1) + " of " + job.max_attempts + ")…" : "Queued…";
      case "running": return TASK === "text" || TASK === "summarize" ? "Writing…" : "Working…";
      case "succeeded":
        if (job.served_from === "fallback") return "The model is down: an earlier result of the same request (another seed) answers it.";
        return job.cache_hit ? "Done (an identical earlier job answered it)." : "Done.";
      case "failed": return "Failed: " + (job.error ? job.error.message : "unknown error");
      case "canceled": return "Canceled.";
      default: return String(job.status);
    }
  }

  function seconds(ms) { return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + " s"; }

  function showImages(job) {
    ui.result.replaceChildren();
    const outputs = Array.isArray(job.outputs) ? job.outputs : [];
    ui.result.classList.toggle("multi", outputs.length > 1);
    const prompt = typeof job.params.prompt === "string" ? job.params.prompt : "";
    outputs.forEach((out, index) => {
      const figure = make("figure");
      const a = link("/jobs/" + encodeURIComponent(job.id), null);
      const img = make("img");
      img.src = out.url;
      img.alt = (prompt || "Generated image") + (outputs.length > 1 ? " (image " + (index + 1) + ")" : "");
      if (out.width && out.height) { img.width = out.width; img.height = out.height; }
      if ((out.width || 0) <= PIXELATED_UP_TO) img.classList.add("pixelated");
      a.appendChild(img);
      const caption = make("figcaption");
      caption.appendChild(make("span", null, out.width && out.height ? out.width + "×" + out.height : ""));
      const download = link(out.url + "?download=true", "Download");
      download.setAttribute("download", "aptmagic-" + job.id.slice(0, 8) + "-" + (index + 1) + ".png");
      caption.appendChild(download);
      figure.append(a, caption);
      ui.result.appendChild(figure);
    });
  }

  function ensureStream() {
    if (!streamed) {
      streamed = make("div", "textout streaming");
      ui.result.replaceChildren(streamed);
    }
    return streamed;
  }

  function fmtTime(s) {
    const m = Math.floor(s / 60), r = s - m * 60;
    return m + ":" + (r < 10 ? "0" : "") + r.toFixed(1);
  }

  function segmentRow(seg) {
    const li = make("li");
    li.appendChild(make("span", "stamp", fmtTime(Number(seg.start) || 0) + "–" + fmtTime(Number(seg.end) || 0)));
    li.appendChild(make("span", null, seg.text));
    return li;
  }

  function showText(job) {
    const r = job.result || {};
    ui.result.replaceChildren();
    streamed = null;
    if (TASK === "caption") {
      ui.result.appendChild(make("blockquote", "caption-out", r.text || ""));
      if (r.base_caption) ui.result.appendChild(make("p", "muted", "What the image shows: " + r.base_caption));
      if (r.transcript) ui.result.appendChild(make("p", "muted", "Heard: " + (r.transcript.text || r.transcript)));
      if (r.has_audio === false) ui.result.appendChild(make("p", "muted", "The video has no sound; captioned from a keyframe."));
    } else if (KIND === "transcript") {
      ui.result.appendChild(make("div", "textout", r.text || ""));
      if (Array.isArray(r.segments) && r.segments.length) {
        const list = make("ol", "segments");
        r.segments.forEach((seg) => list.appendChild(segmentRow(seg)));
        ui.result.appendChild(list);
      }
    } else {
      ui.result.appendChild(make("div", "textout", r.text || ""));
      if (r.truncated) ui.result.appendChild(make("p", "muted", "The text was longer than the model reads; summarised from its start."));
    }
  }

  function showActions(job) {
    ui.actions.replaceChildren();
    if (job.status === "succeeded" && KIND === "images" && job.outputs && job.outputs.length) {
      ui.actions.appendChild(link("/jobs/" + encodeURIComponent(job.id) + "#share", "Share", "button"));
    }
    ui.actions.appendChild(link("/jobs/" + encodeURIComponent(job.id), "Open job", "download"));
    if (job.status === "succeeded" && job.result && KIND !== "images") {
      const formats = Array.isArray(job.result.segments) && job.result.segments.length ? ["txt", "srt", "vtt", "json"] : ["txt", "json"];
      formats.forEach((f) => {
        const a = link("/api/v1/jobs/" + encodeURIComponent(job.id) + "/result?format=" + f, f.toUpperCase(), "download");
        a.setAttribute("download", "");
        ui.actions.appendChild(a);
      });
    }
    ui.actions.hidden = false;
  }

  function render(job) {
    const p = job.progress || { step: 0, total: 0 };
    setState(STATUSES.has(job.status) ? job.status : "idle");
    if (job.status === "succeeded" && !p.total) setProgress(1, 1, false);
    else setProgress(p.step, p.total, job.status === "queued" && !p.step);
    ui.status.textContent = statusText(job);
    if (job.status === "succeeded") {
      if (KIND === "images") showImages(job); else showText(job);
      const bits = [job.model + " " + job.model_version, "seed " + job.seed];
      if (job.timings && job.timings.inference_ms) bits.push("model time " + seconds(job.timings.inference_ms));
      ui.meta.textContent = bits.join(" · ");
      showActions(job);
    } else if (job.status === "failed" || job.status === "canceled") {
      if (!streamed) ui.result.replaceChildren(make("div", "empty-result", job.status === "canceled" ? "Canceled." : "No result."));
      showActions(job);
    }
    if (TERMINAL.has(job.status)) finish(job);
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
      api("GET", "/api/v1/jobs/" + encodeURIComponent(id)).then((res) => {
        if (current !== id) return;
        if (!res.ok) {
          if (res.status === 404) { window.App.showError(ui.error, "The job is gone."); finish(null); return; }
          poll(id, 2000);
          return;
        }
        render(res.data);
        if (current === id) poll(id, 1000);
      });
    }, delay);
  }

  function running() {
    if (ui.card.dataset.state !== "running") { setState("running"); ui.status.textContent = statusText({ status: "running" }); }
  }

  function follow(job) {
    current = job.id;
    render(job);
    if (current !== job.id) return;  // already ended (a cache hit)
    if (!window.EventSource) { poll(job.id, 500); return; }
    source = new EventSource(job.links.events);
    const mine = (fn) => (e) => { if (current === job.id) fn(JSON.parse(e.data)); };
    source.addEventListener("job", mine(render));
    source.addEventListener("progress", mine((d) => { running(); setProgress(d.step, d.total, false); }));
    source.addEventListener("token", mine((d) => { running(); ensureStream().append(String(d.text || "")); }));
    source.addEventListener("segment", mine((d) => {
      running();
      let list = ui.result.querySelector("ol.segments");
      if (!list) { list = make("ol", "segments"); ui.result.replaceChildren(list); streamed = list; }
      list.appendChild(segmentRow(d));
    }));
    source.addEventListener("status", mine((d) => {
      if (d.status === "running") { running(); setProgress(0, job.progress ? job.progress.total : 0, false); }
      else if (d.status === "queued") { setState("queued"); setProgress(0, 0, true); }
    }));
    source.addEventListener("retry", mine((d) => {
      setState("queued");
      setProgress(0, 0, true);
      ui.status.textContent = "Attempt " + d.attempts + " failed (" + d.error + "). Retrying in " + Math.round(d.delay || 0) + " s…";
    }));
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
    window.App.clearErrors(form);
    window.App.showError(ui.error, "");
    if (!checkLocally()) return;
    ui.submit.disabled = true;
    const before = { state: ui.card.dataset.state, status: ui.status.textContent };
    ui.status.textContent = "Submitting…";
    const body = { task: TASK, params: readParams() };
    if (ui.model && ui.model.value) body.model = ui.model.value;
    api("POST", "/api/v1/jobs", body).then((res) => {
      if (!res.ok || !res.data || !res.data.id) {
        setState(before.state);
        ui.status.textContent = before.status;
        ui.submit.disabled = false;
        window.App.showApiError(res, ui.error, { rename: RENAME });
        return;
      }
      streamed = null;
      ui.result.classList.remove("multi");
      ui.result.replaceChildren(make("div", "empty-result pending", "Working on it…"));
      ui.meta.textContent = "";
      ui.actions.hidden = true;
      ui.cancel.hidden = false;
      const box = ui.card.getBoundingClientRect();
      if (box.top > window.innerHeight * 0.6) ui.card.scrollIntoView({ block: "start" });
      startClock();
      follow(res.data);
      refreshRecent();
    });
  });

  ui.cancel.addEventListener("click", () => {
    const id = current;
    if (!id) return;
    ui.cancel.disabled = true;
    ui.status.textContent = "Canceling…";
    api("POST", "/api/v1/jobs/" + encodeURIComponent(id) + "/cancel").then((res) => {
      if (current !== id) return;
      if (res.ok && res.data) { if (TERMINAL.has(res.data.status)) render(res.data); return; }
      if (res.status !== 409) { window.App.showApiError(res, ui.error); ui.cancel.disabled = false; }
    });
  });

  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!ui.submit.disabled) form.requestSubmit(ui.submit);
    }
  });
  form.addEventListener("input", (event) => {
    const el = event.target;
    const box = el && el.id ? $(el.id + "-error") : null;
    if (box) { box.hidden = true; box.textContent = ""; el.removeAttribute("aria-invalid"); }
  });
  if (ui.model) ui.model.addEventListener("change", applyModel);

  // ---- recent jobs ---------------------------------------------------------

  function summary(job) {
    const p = job.params || {};
    if (typeof p.prompt === "string" && p.prompt) return p.prompt;
    if (typeof p.text === "string") return p.text.slice(0, 120);
    if (Array.isArray(p.messages) && p.messages.length) return String(p.messages[p.messages.length - 1].content || "").slice(0, 120);
    return job.task;
  }

  function recentItem(job) {
    const status = STATUSES.has(job.status) ? job.status : "unknown";
    const li = make("li", "job");
    li.dataset.id = job.id;
    li.dataset.status = status;
    const thumb = link("/jobs/" + encodeURIComponent(job.id), null, "thumb");
    thumb.setAttribute("aria-label", "Open the " + job.task + " job");
    const out = Array.isArray(job.outputs) && job.outputs.length ? job.outputs[0] : null;
    if (out) {
      const img = make("img");
      img.src = out.url;
      img.alt = summary(job);
      img.loading = "lazy";
      thumb.appendChild(img);
    } else if (job.result && job.result.text) {
      thumb.appendChild(make("span", "text-thumb", String(job.result.text).slice(0, 160)));
    } else {
      thumb.appendChild(make("span", "placeholder", status === "queued" || status === "running" ? "In progress…" : status));
    }
    li.appendChild(thumb);
    li.appendChild(make("span", "badge badge-" + status, status));
    const p = make("p", "prompt", summary(job));
    p.title = summary(job);
    li.appendChild(p);
    li.appendChild(make("p", "meta", job.task + " · " + job.model + (job.cache_hit ? " · cached" : "") + (job.served_from === "fallback" ? " · stored result" : "")));
    return li;
  }

  let recentRequest = 0;
  function refreshRecent() {
    const mine = ++recentRequest;
    const owner = ui.recent.dataset.owner ? "&owner=" + encodeURIComponent(ui.recent.dataset.owner) : "";
    api("GET", "/api/v1/jobs?limit=8&task=" + encodeURIComponent(TASK) + owner).then((res) => {
      if (mine !== recentRequest || !res.ok || !res.data || !Array.isArray(res.data.items)) return;
      const items = res.data.items;
      ui.recent.replaceChildren(...(items.length ? items.map(recentItem) : [make("li", "empty", "No jobs yet.")]));
    });
  }
})();
