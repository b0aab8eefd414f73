"use strict";
(function () {
  const form = document.getElementById("generate-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const statusEl = $("status"), progress = $("progress"), result = $("result"), errorEl = $("error");
  const submitBtn = $("submit"), cancelBtn = $("cancel");
  let current = null, source = null, pollTimer = null;

  function setStatus(text) { statusEl.textContent = text; }
  function showError(text) { errorEl.textContent = text; errorEl.hidden = !text; }

  function readParams() {
    const params = { prompt: $("prompt").value };
    const neg = $("negative_prompt").value;
    if (neg) params.negative_prompt = neg;
    for (const name of ["width", "height", "steps", "num_images", "seed"]) {
      const v = $(name).value;
      if (v !== "") params[name] = parseInt(v, 10);
    }
    const g = $("guidance").value;
    if (g !== "") params.guidance = parseFloat(g);
    return params;
  }

  function errorMessage(body, status) {
    if (body && body.error) {
      const details = Array.isArray(body.error.details) ? body.error.details : [];
      if (details.length) return details.map((d) => (d.loc || []).slice(1).join(".") + ": " + d.msg).join("\n");
      return body.error.message;
    }
    return "Request failed (" + status + ")";
  }

  function render(job) {
    const p = job.progress;
    progress.hidden = false;
    progress.max = p.total || 1;
    progress.value = p.step;
    let text = job.status;
    if (job.status === "running") text = "Running: step " + p.step + " of " + p.total;
    if (job.status === "queued") text = "Queued" + (job.attempts ? " (retry " + job.attempts + ")" : "");
    if (job.status === "succeeded") text = "Done" + (job.cache_hit ? " (from cache)" : "") + " · seed " + job.seed;
    if (job.status === "failed") text = "Failed: " + (job.error ? job.error.message : "unknown error");
    if (job.status === "canceled") text = "Canceled";
    setStatus(text);
    if (job.status === "succeeded") {
      result.replaceChildren();
      for (const out of job.outputs) {
        const a = document.createElement("a");
        a.href = out.url;
        const img = document.createElement("img");
        img.src = out.url;
        img.alt = job.params.prompt;
        img.width = out.width; img.height = out.height;
        a.appendChild(img);
        result.appendChild(a);
      }
    }
    if (["succeeded", "failed", "canceled"].includes(job.status)) finish();
  }

  function finish() {
    if (source) { source.close(); source = null; }
    if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
    submitBtn.disabled = false;
    cancelBtn.hidden = true;
    current = null;
  }

  function poll(id) {
    fetch("/api/v1/jobs/" + id).then((r) => r.json()).then((job) => {
      if (current !== id) return;
      render(job);
      if (current === id) pollTimer = setTimeout(() => poll(id), 1000);
    }).catch(() => { pollTimer = setTimeout(() => poll(id), 2000); });
  }

  function follow(job) {
    current = job.id;
    render(job);
    if (!current) return;
    if (!window.EventSource) { poll(job.id); return; }
    source = new EventSource(job.links.events);
    source.addEventListener("job", (e) => render(JSON.parse(e.data)));
    source.addEventListener("progress", (e) => {
      const d = JSON.parse(e.data);
      progress.max = d.total || 1; progress.value = d.step;
      setStatus("Running: step " + d.step + " of " + d.total);
    });
    source.addEventListener("status", (e) => setStatus(JSON.parse(e.data).status));
    source.addEventListener("retry", (e) => setStatus("Retrying: " + JSON.parse(e.data).error));
    source.onerror = () => {
      if (!current) return;
      source.close(); source = null;
      poll(job.id);  // SSE unavailable: fall back to polling
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    showError("");
    submitBtn.disabled = true;
    result.replaceChildren();
    setStatus("Submitting…");
    const body = { task: "text-to-image", model: $("model").value, params: readParams() };
    fetch("/api/v1/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then((r) => r.json().then((data) => ({ ok: r.ok, status: r.status, data })))
      .then(({ ok, status, data }) => {
        if (!ok) { showError(errorMessage(data, status)); setStatus("Not submitted."); submitBtn.disabled = false; return; }
        cancelBtn.hidden = false;
        follow(data);
      })
      .catch((err) => { showError("Network error: " + err); submitBtn.disabled = false; });
  });

  cancelBtn.addEventListener("click", () => {
    if (!current) return;
    fetch("/api/v1/jobs/" + current + "/cancel", { method: "POST" }).then((r) => r.json()).then((data) => {
      if (data.error) showError(data.error.message); else setStatus("Canceling…");
    });
  });

  $("model").addEventListener("change", () => {
    const opt = $("model").selectedOptions[0];
    const defaults = JSON.parse(opt.dataset.defaults || "{}");
    for (const name of ["width", "height", "steps", "guidance"]) if (name in defaults) $(name).value = defaults[name];
  });
})();
