"use strict";
// My gallery: delete a job (press twice) without leaving the page.
(function () {
  const list = document.getElementById("gallery");
  if (!list) return;
  const errorBox = document.getElementById("gallery-error");
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-delete]");
    if (!button || !window.App.confirmed(button)) return;
    button.disabled = true;
    const id = button.dataset.delete;
    window.App.api("DELETE", "/api/v1/jobs/" + encodeURIComponent(id)).then((res) => {
      if (res.ok) {
        const card = button.closest("li");
        const next = card.nextElementSibling || card.previousElementSibling;
        card.remove();
        window.App.toast("Job deleted.");
        const focusable = next && next.querySelector("a");
        if (focusable) focusable.focus();
        if (!list.querySelector("li")) list.appendChild(window.App.make("li", "empty", "No jobs left here."));
      } else {
        button.disabled = false;
        window.App.showError(errorBox, window.App.message(res));
      }
    });
  });
})();
