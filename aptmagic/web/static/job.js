"use strict";
// A job's page: share an output as a post, cancel or delete the job, and reload
// once a job that is still running ends.
(function () {
  const root = document.getElementById("job");
  if (!root) return;
  const id = root.dataset.id;
  const url = "/api/v1/jobs/" + encodeURIComponent(id);
  const errorBox = document.getElementById("job-error");

  if (root.dataset.status === "queued" || root.dataset.status === "running") {
    const check = () => window.App.api("GET", url).then((res) => {
      if (res.ok && ["succeeded", "failed", "canceled"].includes(res.data.status)) window.location.reload();
      else setTimeout(check, 1500);
    });
    setTimeout(check, 1000);
  }

  const cancel = document.getElementById("cancel-job");
  if (cancel) cancel.addEventListener("click", () => {
    cancel.disabled = true;
    window.App.api("POST", url + "/cancel").then((res) => {
      if (res.ok || res.status === 409) window.location.reload();
      else { cancel.disabled = false; window.App.showError(errorBox, window.App.message(res)); }
    });
  });

  const del = document.getElementById("delete-job");
  if (del) del.addEventListener("click", () => {
    if (!window.App.confirmed(del)) return;
    del.disabled = true;
    window.App.api("DELETE", url).then((res) => {
      if (res.ok) window.location.assign("/gallery");
      else { del.disabled = false; window.App.showError(errorBox, window.App.message(res)); }
    });
  });

  const share = document.getElementById("share-form");
  if (!share) return;
  const shareError = document.getElementById("share-error");
  const rename = { title: "title-input", caption: "caption", tags: "tags", visibility: "visibility", asset_id: "title-input" };
  share.addEventListener("submit", (event) => {
    event.preventDefault();
    window.App.clearErrors(share);
    window.App.showError(shareError, "");
    const data = new FormData(share);
    const title = String(data.get("title") || "").trim();
    if (!title) {
      window.App.setFieldError("title-input", "Give the post a title.", "share-");
      document.getElementById("share-title-input").focus();
      return;
    }
    const body = {
      asset_id: String(data.get("asset_id") || ""),
      title,
      caption: String(data.get("caption") || ""),
      tags: String(data.get("tags") || "").split(",").map((t) => t.trim().toLowerCase()).filter(Boolean),
      visibility: String(data.get("visibility") || "public"),
    };
    const button = document.getElementById("share-submit");
    button.disabled = true;
    window.App.api("POST", "/api/v1/posts", body).then((res) => {
      if (res.ok && res.data && res.data.id) { window.location.assign("/posts/" + encodeURIComponent(res.data.id)); return; }
      button.disabled = false;
      window.App.showApiError(res, shareError, { rename, prefix: "share-" });
    });
  });
})();
