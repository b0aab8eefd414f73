"use strict";
// Feed, post and profile pages: load more, like, comment, delete, report, follow.
// Posts and comments added here are built with textContent only.
(function () {
  const { api, make, link } = window.App;
  const $ = (id) => document.getElementById(id);

  // ---- feed / profile: load more -----------------------------------------

  function postCard(post) {
    const li = make("li", "post-card");
    li.dataset.id = post.id;
    const href = "/posts/" + encodeURIComponent(post.id);
    const thumb = link(href, null, "post-thumb");
    const img = make("img", "pixelated");
    img.src = post.image_url;
    img.alt = post.title;
    img.loading = "lazy";
    thumb.appendChild(img);
    const body = make("div", "post-card-body");
    body.appendChild(link(href, post.title, "post-card-title"));
    const meta = make("p", "post-card-meta");
    const counts = make("span", "counts");
    counts.append(make("span", "count-likes", "♥ " + post.like_count), " ",
      make("span", "count-comments", post.comment_count + (post.comment_count === 1 ? " comment" : " comments")));
    meta.append(link("/u/" + encodeURIComponent(post.author.username), post.author.username, "author"), counts);
    body.appendChild(meta);
    li.append(thumb, body);
    return li;
  }

  const more = $("load-more");
  if (more) more.addEventListener("click", (event) => {
    event.preventDefault();
    const list = $("posts");
    const sep = more.dataset.api.includes("?") && !more.dataset.api.endsWith("?") ? "&" : "";
    more.setAttribute("aria-disabled", "true");
    const limit = encodeURIComponent(more.dataset.limit || "24");
    api("GET", more.dataset.api + sep + "limit=" + limit + "&cursor=" + encodeURIComponent(more.dataset.cursor)).then((res) => {
      more.removeAttribute("aria-disabled");
      if (!res.ok) { window.App.toast(window.App.message(res)); return; }
      res.data.items.forEach((post) => list.appendChild(postCard(post)));
      const status = $("feed-status");
      const n = res.data.items.length;
      if (status) status.textContent = n + (n === 1 ? " more post loaded." : " more posts loaded.");
      if (res.data.next_cursor) more.dataset.cursor = res.data.next_cursor;
      else more.closest(".actions").remove();
    });
  });

  // ---- profile: follow -----------------------------------------------------

  const follow = $("follow");
  if (follow) follow.addEventListener("click", () => {
    const name = $("profile").dataset.username;
    const following = follow.getAttribute("aria-pressed") === "true";
    follow.disabled = true;
    api(following ? "DELETE" : "PUT", "/api/v1/users/" + encodeURIComponent(name) + "/follow").then((res) => {
      follow.disabled = false;
      if (!res.ok) { window.App.showError($("profile-error"), window.App.message(res)); return; }
      follow.setAttribute("aria-pressed", String(res.data.following));
      follow.textContent = res.data.following ? "Following" : "Follow";
      follow.classList.toggle("secondary", res.data.following);
      $("follower-count").textContent = res.data.follower_count;
    });
  });

  // ---- post ------------------------------------------------------------------

  const post = $("post");
  if (!post) return;
  const postUrl = "/api/v1/posts/" + encodeURIComponent(post.dataset.id);
  const postError = $("post-error");

  const like = $("like");
  like.addEventListener("click", () => {
    const liked = like.getAttribute("aria-pressed") === "true";
    like.disabled = true;
    api(liked ? "DELETE" : "PUT", postUrl + "/like").then((res) => {
      like.disabled = false;
      if (!res.ok) { window.App.showError(postError, window.App.message(res)); return; }
      like.setAttribute("aria-pressed", String(res.data.liked));
      like.classList.toggle("liked", res.data.liked);
      $("like-count").textContent = res.data.like_count;
    });
  });

  const del = $("delete-post");
  if (del) del.addEventListener("click", () => {
    if (!window.App.confirmed(del)) return;
    del.disabled = true;
    api("DELETE", postUrl).then((res) => {
      if (res.ok) window.location.assign("/feed");
      else { del.disabled = false; window.App.showError(postError, window.App.message(res)); }
    });
  });

  const comments = $("comments");
  const count = $("comment-count");
  function commentItem(c, canDelete) {
    const li = make("li", "comment");
    li.dataset.id = c.id;
    const head = make("p", "comment-head");
    head.append(link("/u/" + encodeURIComponent(c.author.username), c.author.username, "comment-author"), " ",
      make("time", "muted", window.App.when(c.created_at)));
    if (canDelete) {
      const b = make("button", "link small danger", "Delete");
      b.type = "button";
      b.dataset.deleteComment = c.id;
      b.dataset.confirm = "Press again to delete";
      head.append(" ", b);
    }
    li.append(head, make("p", "comment-body", c.body));
    return li;
  }

  const form = $("comment-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.App.clearErrors(form);
    const body = $("comment-body").value;
    if (!body.trim()) { window.App.setFieldError("body", "Write something first.", "comment-"); $("comment-body").focus(); return; }
    const button = $("comment-submit");
    button.disabled = true;
    api("POST", postUrl + "/comments", { body }).then((res) => {
      button.disabled = false;
      if (!res.ok) {
        window.App.setFieldError("body", window.App.message(res), "comment-");
        $("comment-body").focus();
        return;
      }
      const empty = $("no-comments");
      if (empty) empty.remove();
      comments.appendChild(commentItem(res.data, true));
      count.textContent = Number(count.textContent || 0) + 1;
      $("comment-body").value = "";
      window.App.toast("Comment posted.");
    });
  });

  comments.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-delete-comment]");
    if (!button || !window.App.confirmed(button)) return;
    button.disabled = true;
    api("DELETE", "/api/v1/comments/" + encodeURIComponent(button.dataset.deleteComment)).then((res) => {
      if (!res.ok) { button.disabled = false; window.App.showError(postError, window.App.message(res)); return; }
      button.closest("li").remove();
      count.textContent = Math.max(0, Number(count.textContent || 0) - 1);
      window.App.toast("Comment deleted.");
    });
  });

  const report = $("report-form");
  if (report) report.addEventListener("submit", (event) => {
    event.preventDefault();
    window.App.clearErrors(report);
    const body = { reason: $("report-reason").value, note: $("report-note").value };
    api("POST", postUrl + "/reports", body).then((res) => {
      if (!res.ok) { window.App.showApiError(res, $("report-error"), { prefix: "report-" }); return; }
      report.replaceChildren(make("p", "status", "Thanks: the moderators will look at it."));
    });
  });
})();
