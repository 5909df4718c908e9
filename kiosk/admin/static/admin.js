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

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page) {
    pollStatus();
    window.setInterval(pollStatus, 5000);
  }
  startLive();
});
