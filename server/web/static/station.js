// The station page's controls: remote unlock (with the offline warning), lockdown, mode,
// count correction, capacity, opening hours and holidays. Each form carries a required
// reason and goes to the JSON API (callApi() from staff.js); the server audits it. The page
// reloads after a change, so every fact on it is the server's.
"use strict";

function formBody(form) {
  const body = { ...JSON.parse(form.dataset.fixed || "{}") };
  for (const field of form.querySelectorAll("input[name], select[name]")) {
    if (field.closest("[hidden]") || field.closest("fieldset")) continue;
    if (field.type === "checkbox") {
      if (field.checked) body[field.name] = true;
    } else if (field.type === "number") {
      body[field.name] = field.value === "" ? null : Number(field.value);
    } else {
      body[field.name] = field.value.trim();
    }
  }
  return body;
}

// -- opening hours: the form <-> {"weekly": [...], "holidays": {...}} ---------------------------
function spanOf(row) {
  if (row.querySelector('[name="closed"]').checked) return null;
  return [row.querySelector('[name="opens"]').value, row.querySelector('[name="closes"]').value];
}

function showSpan(row, span) {
  row.querySelector('[name="closed"]').checked = span === null;
  row.querySelector('[name="opens"]').value = span ? span[0] : "";
  row.querySelector('[name="closes"]').value = span ? span[1] : "";
}

function hoursBody(form) {
  const body = { reason: form.elements.reason.value.trim() };
  if (form.elements.open_all_day.checked) return { ...body, open_all_day: true };
  // Keys this form does not edit (the national calendar's spans) are sent back as they were.
  const before = JSON.parse(document.getElementById("hours-now").textContent) || {};
  const weekly = [...form.querySelectorAll("tr[data-day]")].map(spanOf);
  const holidays = {};
  for (const row of form.querySelectorAll("#holiday-rows tr")) {
    holidays[row.querySelector('[name="date"]').value] = spanOf(row);
  }
  return { ...body, opening_hours: { ...before, weekly, holidays } };
}

function wireHours() {
  const form = document.getElementById("hours-form");
  if (!form) return;
  const now = JSON.parse(document.getElementById("hours-now").textContent);
  const template = document.getElementById("holiday-row");
  const holidays = document.getElementById("holiday-rows");
  function addHoliday(day, span) {
    const row = template.content.firstElementChild.cloneNode(true);
    row.querySelector('[name="date"]').value = day || "";
    showSpan(row, span === undefined ? null : span);
    holidays.append(row);
    return row;
  }
  const week = now ? now.weekly : Array(7).fill(["08:00", "22:00"]);
  form.querySelectorAll("tr[data-day]").forEach((row, day) => showSpan(row, week[day]));
  for (const [day, span] of Object.entries((now && now.holidays) || {})) addHoliday(day, span);
  form.elements.open_all_day.addEventListener("change", () => {
    for (const set of form.querySelectorAll("fieldset")) set.hidden = form.elements.open_all_day.checked;
  });
  document.getElementById("add-holiday").addEventListener("click", () => {
    addHoliday("", null).querySelector('[name="date"]').focus();
  });
  holidays.addEventListener("click", (event) => {
    if (event.target.closest(".remove-holiday")) event.target.closest("tr").remove();
  });
}

// -- the forms ---------------------------------------------------------------------------------
function wireControls() {
  for (const form of document.querySelectorAll("form[data-control]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
      const body = form.id === "hours-form" ? hoursBody(form) : formBody(form);
      if (form.id === "mode-form" && body.mode !== "free_entry") delete body.emergency;
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        await callApi(form.dataset.control, body, form.dataset.method || "POST");
        showMessage(form, form.dataset.done || "OK", true);
        setTimeout(() => location.reload(), 600);
      } catch (error) {
        showMessage(form, error.message, false);
        submit.disabled = false;
      }
    });
  }
  const mode = document.getElementById("mode-form");
  if (mode) {
    mode.elements.mode.addEventListener("change", () => {
      mode.querySelector("label.emergency").hidden = mode.elements.mode.value !== "free_entry";
    });
  }
}

// The station's row from the live stream (staff.js): the offline warning and the mode badge
// follow it without a reload.
function followRow() {
  const warning = document.getElementById("offline-warning");
  const badge = document.getElementById("mode-badge");
  document.addEventListener("station-row", (event) => {
    const row = event.detail;
    if (warning) {
      warning.hidden = row.online;
      if (row.online) warning.querySelector('[name="confirm_offline"]').checked = false;
    }
    if (badge && (row.lockdown || row.maintenance)) {
      badge.hidden = false;
      badge.textContent = row.lockdown ? badge.dataset.lockdown : badge.dataset.maintenance;
    }
  });
}

wireHours();
wireControls();
followRow();
