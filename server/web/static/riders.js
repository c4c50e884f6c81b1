// The riders page: copy a new personal link (the Clipboard API where the page may use it,
// else a selection and the older copy command, else say to copy by hand), and print the
// link's card alone. Plain script from /static, like staff.js.
"use strict";

(() => {
  const card = document.getElementById("new-link");
  if (!card) return;
  const status = document.getElementById("copy-status");

  function copyBySelection(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    let copied = false;
    try { copied = document.execCommand("copy"); } catch (_) { copied = false; }
    if (copied) selection.removeAllRanges();  // else leave it selected, to copy by hand
    return copied;
  }

  for (const button of card.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      const text = source.textContent.trim();
      let copied = false;
      if (navigator.clipboard && window.isSecureContext) {
        try { await navigator.clipboard.writeText(text); copied = true; } catch (_) { copied = false; }
      }
      if (!copied) copied = copyBySelection(source);
      status.className = copied ? "form-done" : "form-error";
      status.textContent = copied ? button.dataset.copied : button.dataset.copyFailed;
    });
  }

  // staff.js prints on [data-print]; while it does, only the card is on paper.
  window.addEventListener("beforeprint", () => document.body.classList.add("print-card"));
  window.addEventListener("afterprint", () => document.body.classList.remove("print-card"));
})();
