// The station page's "what riders see" forms (templates/station_details.html): address and
// amenities (PATCH, JSON), the photo (PUT, the file itself as the body), with the CSRF token.
"use strict";

(() => {
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;

  async function send(method, url, body, type) {
    const reply = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": type, "X-CSRF-Token": CSRF },
      body,
    });
    if (reply.ok) return;
    let detail = String(reply.status);
    try {
      const data = await reply.json();
      detail = typeof data.detail === "string" ? data.detail
        : (data.detail || []).map((d) => `${(d.loc || []).slice(-1)[0]}: ${d.msg}`).join("; ");
    } catch (_) { /* not JSON */ }
    throw new Error(detail);
  }

  function wire(form, submit) {
    if (!form) return;
    const message = form.querySelector(".form-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      message.hidden = true;
      try {
        await submit(new FormData(form));
        message.className = "form-done";
        message.textContent = form.dataset.done;
        message.hidden = false;
        setTimeout(() => location.reload(), 600);
      } catch (error) {
        message.className = "form-error";
        message.textContent = error.message;
        message.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  }

  const details = document.getElementById("details-form");
  wire(details, (data) => send("PATCH", details.dataset.url, JSON.stringify({
    address: String(data.get("address") || "").trim(),
    amenities: data.getAll("amenities"),
    reason: String(data.get("reason") || "").trim(),
  }), "application/json"));

  const photo = document.getElementById("photo-form");
  const reasonQuery = (data) => `?reason=${encodeURIComponent(String(data.get("reason") || "").trim())}`;
  wire(photo, (data) => {
    const file = data.get("photo");
    return send("PUT", photo.dataset.url + reasonQuery(data), file, file.type || "application/octet-stream");
  });
  const remove = document.getElementById("photo-remove");
  if (remove) {
    remove.addEventListener("click", async () => {
      const data = new FormData(photo);
      const message = photo.querySelector(".form-error, .form-done");
      try {
        await send("DELETE", photo.dataset.url + reasonQuery(data), undefined, "application/json");
        location.reload();
      } catch (error) {
        message.className = "form-error";
        message.textContent = error.message;
        message.hidden = false;
      }
    });
  }
})();
