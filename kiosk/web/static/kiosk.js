"use strict";
(function () {
  const log = document.getElementById("log");
  const buttons = document.getElementById("buttons");
  const health = document.getElementById("health");
  let shownTurns = 0;

  function post(url, body, raw) {
    return KioskPage.post(url, body, (message) => addLine("error", message), raw ? "audio/wav" : undefined);
  }

  function addLine(cls, text, meta) {
    KioskPage.line(log, "turn " + cls, text, meta);
  }

  function showTurn(t) {
    const heard = t.heard ? `“${t.heard}” → ` : "";
    addLine("kiosk", heard + t.reply, `${t.source} · ${t.intent || "-"} · ${t.stage} · ${t.action}` +
      (t.ticket ? ` · ticket ${t.ticket}${t.printed ? " (printed)" : ""}` : "") +
      (t.handoff ? ` · ${t.handoff} for staff` : "") + (t.skipped.length ? ` · skipped ${t.skipped.join(",")}` : ""));
  }

  function showButtons(list) {
    buttons.replaceChildren();
    for (const [id, label] of list) {
      buttons.appendChild(KioskPage.button(label, () => post("/api/kiosk/input", { button: id })));
    }
  }

  const idForm = document.getElementById("id-form");

  function showForm(form) {
    // The form read from the customer's ID card (the number masked; staff check the card itself).
    idForm.hidden = !form || !form.fields.length;
    if (idForm.hidden) return;
    const rows = form.fields.map((f) => {
      const tr = document.createElement("tr");
      tr.dataset.field = f.field;
      const th = document.createElement("th");
      th.textContent = `${f.label_zh} / ${f.label_en}`;
      const td = document.createElement("td");
      td.textContent = f.value + (f.corrected ? " ✎" : "") + (form.editing === f.field ? " …" : "");
      tr.append(th, td);
      return tr;
    });
    idForm.querySelector("table").replaceChildren(...rows);
  }

  async function refresh() {
    try {
      const r = await fetch("/api/kiosk/state");
      if (!r.ok) { health.textContent = "runtime not running"; return; }
      const s = await r.json();
      if (s.screen) showButtons(s.screen.buttons);
      showForm(s.id_form);
      const fresh = Math.min(s.turn_count - shownTurns, s.turns.length);
      if (fresh > 0) for (const t of s.turns.slice(s.turns.length - fresh)) showTurn(t);
      shownTurns = s.turn_count;
      health.textContent = `mode ${s.mode} · session ${s.session ? "yes" : "no"} · ` +
        s.devices.map((d) => `${d.kind} ${d.state}`).join(" · ") + ` · frames ${s.frames}`;
    } catch (e) {
      health.textContent = "network error";
    }
  }

  document.getElementById("say").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = document.getElementById("text");
    const text = input.value.trim();
    if (text) { input.value = ""; post("/api/kiosk/input", { text: text }); }
  });
  document.getElementById("voice").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const file = document.getElementById("wav").files[0];
    if (!file) { addLine("error", "choose a WAV file first"); return; }
    const lang = document.getElementById("voice-lang").value;
    post(`/api/kiosk/voice?lang=${encodeURIComponent(lang)}`, file, true);
  });
  document.getElementById("idcard").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = document.getElementById("idcard-image").files[0];
    if (!file) { addLine("error", "choose an image of the card first"); return; }
    const r = await fetch("/api/kiosk/idcard", { method: "POST", headers: { "Content-Type": file.type }, body: file });
    if (!r.ok) { addLine("error", `${r.status}: ${JSON.stringify((await r.json()).detail)}`); return; }
    refresh();
  });
  document.getElementById("walk-up").addEventListener("click", () => post("/api/kiosk/presence", { walk: "up" }));
  document.getElementById("walk-away").addEventListener("click", () => post("/api/kiosk/presence", { walk: "away" }));
  document.getElementById("staff").addEventListener("click", () => post("/api/kiosk/input", { button: "staff:call" }));
  document.getElementById("lang").addEventListener("click", () => post("/api/kiosk/input", { button: "ui:lang" }));
  document.getElementById("card-in").addEventListener("click", () => post("/api/kiosk/card", { action: "insert" }));
  document.getElementById("card-out").addEventListener("click", () => post("/api/kiosk/card", { action: "remove" }));
  document.getElementById("card-unplug").addEventListener("click", () => post("/api/kiosk/card", { action: "unplug" }));
  setInterval(refresh, 1000);
  refresh();
})();
