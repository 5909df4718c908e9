// Admin page behaviour (no inline script: CSP). Badge + sound for new hand-offs; live turns over SSE.
"use strict";

let audio = null;
function beep(risk) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const tones = risk ? [880, 660, 880] : [660];
    tones.forEach((freq, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      const start = audio.currentTime + i * 0.25;
      osc.start(start);
      osc.stop(start + 0.18);
    });
  } catch (err) {
    // No audio device: the badge still shows it.
  }
}

let lastHandoff = null;
async function pollStatus() {
  try {
    const res = await fetch("/admin/api/status", { credentials: "same-origin", cache: "no-store" });
    if (res.status === 401) { window.location.assign("/admin/login"); return; }
    if (!res.ok) return;
    const s = await res.json();
    const badge = document.getElementById("badge");
    if (badge) {
      badge.textContent = String(s.waiting);
      badge.classList.toggle("hot", s.waiting > 0);
    }
    const flag = document.getElementById("health-flag");
    if (flag) flag.hidden = s.health !== "degraded";  // a device or component problem, on every page
    if (lastHandoff !== null && s.latest_handoff > lastHandoff) {
      beep(s.risk > 0);
      document.title = "(" + s.waiting + ") " + document.title.replace(/^\(\d+\) /, "");
    }
    lastHandoff = s.latest_handoff;
  } catch (err) {
    // Network hiccup: try again on the next tick.
  }
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
}

function startLive() {
  const table = document.getElementById("live");
  if (!table) return;
  const state = document.getElementById("live-state");
  const body = table.querySelector("tbody");
  const source = new EventSource("/admin/api/live?after=" + encodeURIComponent(table.dataset.after || "0"));
  source.onopen = () => { state.textContent = "live 实时"; };
  source.onerror = () => { state.textContent = "reconnecting… 重新连接"; };
  source.addEventListener("turn", (event) => {
    const t = JSON.parse(event.data);
    const row = document.createElement("tr");
    row.className = "stage-" + t.stage;
    [t.at.slice(11, 19), t.session_id.slice(0, 8), t.text, t.intent, t.stage,
      Number(t.confidence).toFixed(2), t.action, t.reply].forEach((v) => cell(row, v));
    body.appendChild(row);
    while (body.rows.length > 200) body.deleteRow(0);
  });
}

// Dashboard: devices, runtime components (restarts, back-off) and problems refresh without a reload.
const STATUS_ZH = { up: "运行正常", degraded: "部分降级", starting: "启动中" };

function backoffText(c) {
  if (c.state === "restarting") {
    return "restarting in " + c.retry_in_s + " s (crash " + c.crashes_in_a_row + " of " + c.max_restarts + " in a row)";
  }
  if (c.state === "failed") return "given up after " + c.crashes_in_a_row + " crashes in a row";
  return c.backoff_s ? "last wait " + c.backoff_s + " s, after crash " + c.crashes_in_a_row + " in a row" : "-";
}

function fillRows(table, rows) {
  const body = table.querySelector("tbody");
  body.replaceChildren(...rows);
  table.hidden = rows.length === 0;
  const none = document.getElementById(table.id + "-none");
  if (none) none.hidden = rows.length !== 0;
}

function renderHealth(h) {
  const section = document.getElementById("health-status");
  section.className = "status " + h.status;
  const title = section.querySelector("h1");
  const zh = document.createElement("span");
  zh.className = "zh";
  zh.textContent = STATUS_ZH[h.status] || "";
  title.replaceChildren("Kiosk " + h.status.toUpperCase() + " ", zh);
  const problems = document.getElementById("health-problems");
  problems.replaceChildren(...h.problems.map((p) => { const li = document.createElement("li"); li.textContent = p; return li; }));
  problems.hidden = h.problems.length === 0;
  const components = Object.entries(h.components).map(([name, c]) => {
    const row = document.createElement("tr");
    row.dataset.component = name;
    [name, c.state, String(c.restarts), backoffText(c), c.last_error || ""].forEach((v) => cell(row, v));
    row.cells[1].className = c.state === "running" ? "ok" : "bad";
    return row;
  });
  fillRows(document.getElementById("components"), components);
  const devices = h.devices.map((d) => {
    const row = document.createElement("tr");
    row.dataset.device = d.kind;
    [d.kind, d.driver, d.state, d.detail].forEach((v) => cell(row, v));
    row.cells[2].className = d.state === "ok" ? "ok" : d.state === "paper_low" ? "warn" : "bad";
    return row;
  });
  fillRows(document.getElementById("devices"), devices);
  document.getElementById("health-refreshed").textContent =
    "Updated 更新于 " + new Date().toLocaleTimeString();
}

async function pollHealth() {
  try {
    const res = await fetch("/admin/api/health", { credentials: "same-origin", cache: "no-store" });
    if (res.status === 401) { window.location.assign("/admin/login"); return; }
    if (res.ok) renderHealth(await res.json());
  } catch (err) {
    // Network hiccup: try again on the next tick.
  }
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page) {
    pollStatus();
    window.setInterval(pollStatus, 5000);
  }
  if (document.getElementById("health-status")) {
    window.setInterval(pollHealth, 3000);
  }
  startLive();
});
