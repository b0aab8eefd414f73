"use strict";
// API keys (create, shown once; revoke) and the password change.
(function () {
  const { api, make } = window.App;

  const keyForm = document.getElementById("key-form");
  if (keyForm) {
    const errorBox = document.getElementById("key-error");
    keyForm.addEventListener("submit", (event) => {
      event.preventDefault();
      window.App.clearErrors(keyForm);
      window.App.showError(errorBox, "");
      const data = new FormData(keyForm);
      const body = { name: String(data.get("name") || "").trim(), scopes: data.getAll("scopes").map(String) };
      if (!body.name) { window.App.setFieldError("name", "Give the key a name.", "key-"); document.getElementById("key-name").focus(); return; }
      const expires = String(data.get("expires_at") || "");
      if (expires) body.expires_at = expires + "T23:59:59Z";
      const button = document.getElementById("key-submit");
      button.disabled = true;
      api("POST", "/api/v1/auth/keys", body).then((res) => {
        button.disabled = false;
        if (!res.ok) { window.App.showApiError(res, errorBox, { prefix: "key-" }); return; }
        document.getElementById("new-key-value").textContent = res.data.key;
        document.getElementById("new-key").hidden = false;
        document.getElementById("new-key-value").focus();
        keyForm.reset();
        addKeyRow(res.data);
      });
    });
    document.getElementById("copy-key").addEventListener("click", () => {
      const text = document.getElementById("new-key-value").textContent;
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(() => window.App.toast("Copied."), () => window.App.toast("Select the key and copy it."));
    });
  }

  function addKeyRow(key) {
    const list = document.getElementById("keys");
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = make("li", "row");
    li.dataset.id = key.id;
    const main = make("div", "row-main");
    main.append(make("strong", null, key.name), " ", make("code", null, key.prefix + "…"));
    main.appendChild(make("p", "muted", key.scopes.join(", ") + " · created just now"));
    const revoke = make("button", "secondary small danger", "Revoke");
    revoke.type = "button";
    revoke.dataset.revoke = key.id;
    revoke.dataset.confirm = "Press again to revoke";
    li.append(main, revoke);
    list.prepend(li);
  }

  const keys = document.getElementById("keys");
  if (keys) keys.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-revoke]");
    if (!button || !window.App.confirmed(button)) return;
    button.disabled = true;
    api("DELETE", "/api/v1/auth/keys/" + encodeURIComponent(button.dataset.revoke)).then((res) => {
      if (!res.ok) { button.disabled = false; window.App.toast(window.App.message(res)); return; }
      const row = button.closest("li");
      row.classList.add("revoked");
      button.replaceWith(make("span", "badge badge-failed", "revoked"));
      window.App.toast("Key revoked.");
    });
  });

  const pw = document.getElementById("password-form");
  if (pw) {
    const errorBox = document.getElementById("pw-error");
    pw.addEventListener("submit", (event) => {
      event.preventDefault();
      window.App.clearErrors(pw);
      window.App.showError(errorBox, "");
      const data = new FormData(pw);
      const body = { current_password: String(data.get("current_password") || ""), new_password: String(data.get("new_password") || "") };
      api("POST", "/api/v1/auth/password", body).then((res) => {
        if (res.ok) { pw.reset(); window.App.toast("Password changed. Your other sessions have ended."); return; }
        if (res.status === 403) { window.App.setFieldError("current_password", window.App.message(res), "pw-"); document.getElementById("pw-current_password").focus(); return; }
        window.App.showApiError(res, errorBox, { prefix: "pw-" });
      });
    });
  }
})();
