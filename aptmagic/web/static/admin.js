"use strict";
// Admin pages: roles and plans of users, and the moderation queue (hide / unhide).
(function () {
  const { api, make, link } = window.App;
  const REASONS = ["spam", "nsfw", "harassment", "illegal", "other"];

  const users = document.getElementById("users");
  if (users) users.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-field]");
    if (!select) return;
    const row = select.closest("tr");
    const body = {};
    body[select.dataset.field] = select.value || null;
    select.disabled = true;
    api("PATCH", "/api/v1/admin/users/" + encodeURIComponent(row.dataset.id), body).then((res) => {
      select.disabled = false;
      if (res.ok) window.App.toast("Saved: " + res.data.username + " is now " + res.data.role + " on " + (res.data.plan || "the default plan") + ".");
      else window.App.showError(document.getElementById("users-error"), window.App.message(res));
    });
  });

  const list = document.getElementById("reports");
  if (!list) return;
  const status = document.getElementById("mod-status");
  const errorBox = document.getElementById("mod-error");
  const more = document.getElementById("reports-more");
  let which = "open", cursor = null;

  function reasonSelect(id, chosen) {
    const wrap = make("span", "inline-field");
    const label = make("label", "visually-hidden", "Reason");
    label.htmlFor = "reason-" + id;
    const select = make("select");
    select.id = "reason-" + id;
    REASONS.forEach((r) => { const o = make("option", null, r); o.value = r; if (r === chosen) o.selected = true; select.appendChild(o); });
    wrap.append(label, select);
    return wrap;
  }

  function actionButtons(report, box) {
    const post = report.post;
    box.replaceChildren();
    if (post.hidden) {
      box.appendChild(make("span", "badge badge-failed", "hidden: " + (post.hidden_reason || "")));
      const unhide = make("button", "secondary small", "Unhide");
      unhide.type = "button";
      unhide.addEventListener("click", () => moderate(report, "unhide", null, box));
      box.appendChild(unhide);
    } else {
      const reason = reasonSelect(report.id, report.reason);
      const hide = make("button", "small danger-fill", "Hide");
      hide.type = "button";
      hide.addEventListener("click", () => moderate(report, "hide", reason.querySelector("select").value, box));
      box.append(reason, hide);
    }
  }

  function moderate(report, action, reason, box) {
    const body = action === "hide" ? { reason_code: reason, note: "" } : undefined;
    api("POST", "/api/v1/admin/posts/" + encodeURIComponent(report.post.id) + "/" + action, body).then((res) => {
      if (!res.ok) { window.App.showError(errorBox, window.App.message(res)); return; }
      report.post = res.data;
      actionButtons(report, box);
      window.App.toast(action === "hide" ? "Post hidden." : "Post visible again.");
    });
  }

  function item(report) {
    const li = make("li", "report");
    li.dataset.id = report.id;
    const thumb = link("/posts/" + encodeURIComponent(report.post.id), null, "thumb");
    const img = make("img");
    img.src = report.post.image_url;
    img.alt = report.post.title;
    img.className = "pixelated";
    thumb.appendChild(img);
    const body = make("div", "report-body");
    body.appendChild(link("/posts/" + encodeURIComponent(report.post.id), report.post.title, "report-title"));
    const by = make("p", "muted");
    by.append("by ", link("/u/" + encodeURIComponent(report.post.author.username), report.post.author.username),
      " · reported by ", link("/u/" + encodeURIComponent(report.reporter.username), report.reporter.username),
      " · " + window.App.when(report.created_at));
    body.appendChild(by);
    const why = make("p", null);
    why.append(make("span", "badge", report.reason), " ", make("span", null, report.note || ""));
    body.appendChild(why);
    const actions = make("div", "report-actions");
    actionButtons(report, actions);
    li.append(thumb, body, actions);
    return li;
  }

  function load(reset) {
    if (reset) { cursor = null; list.replaceChildren(); }
    status.textContent = "Loading reports…";
    const url = "/api/v1/admin/reports?limit=20&status=" + which + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    api("GET", url).then((res) => {
      if (!res.ok) { status.textContent = ""; window.App.showError(errorBox, window.App.message(res)); return; }
      res.data.items.forEach((r) => list.appendChild(item(r)));
      cursor = res.data.next_cursor;
      more.hidden = !cursor;
      const count = list.children.length;
      status.textContent = count ? count + " " + which + " report" + (count === 1 ? "" : "s") + "." : "No " + which + " reports.";
    });
  }

  document.querySelectorAll(".seg[data-status]").forEach((button) => button.addEventListener("click", () => {
    document.querySelectorAll(".seg[data-status]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    which = button.dataset.status;
    load(true);
  }));
  more.addEventListener("click", () => load(false));
  load(true);
})();
