"use strict";
(function () {
  const log = document.getElementById("log");
  const buttons = document.getElementById("buttons");
  const form = document.getElementById("say");
  const input = document.getElementById("text");
  const status = document.getElementById("status");
  let session = null;

  function add(cls, text, meta) {
    const div = document.createElement("div");
    div.className = "msg " + cls;
    div.textContent = text;
    if (meta) {
      const span = document.createElement("span");
      span.className = "meta";
      span.textContent = meta;
      div.appendChild(span);
    }
    log.appendChild(div);
    div.scrollIntoView({ block: "end" });
  }

  function showButtons(list) {
    buttons.replaceChildren();
    for (const b of list) {
      const el = document.createElement("button");
      el.type = "button";
      el.textContent = b.label;
      el.dataset.id = b.id;
      if (b.id === "staff") el.className = "staff";
      el.addEventListener("click", () => send({ button: b.id }, b.label));
      buttons.appendChild(el);
    }
  }

  async function newSession() {
    const r = await fetch("/api/session", { method: "POST" });
    session = (await r.json()).session;
    log.replaceChildren();
    buttons.replaceChildren();
    await send({ text: "你好" }, null);
  }

  async function send(payload, shown) {
    if (shown) add("customer", shown);
    try {
      const r = await fetch("/api/turn", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign({ session: session }, payload)),
      });
      if (!r.ok) { add("kiosk", "抱歉，系统忙，请稍后再试。Sorry, please try again."); return; }
      const d = await r.json();
      const meta = `intent=${d.intent} stage=${d.stage} confidence=${d.confidence.toFixed(2)} action=${d.action}` +
        (d.ticket ? ` ticket=${d.ticket}` : "") + ` ${d.latency_ms} ms`;
      add("kiosk " + d.action, d.reply, meta);
      showButtons(d.buttons || []);
    } catch (e) {
      add("kiosk", "网络错误 / Network error");
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text: text }, text);
  });
  document.getElementById("new-session").addEventListener("click", newSession);
  fetch("/healthz").then((r) => r.json()).then((h) => {
    status.textContent = `policy ${h.policy} · model ${h.nlu} · ${h.status}`;
  });
  newSession();
})();
