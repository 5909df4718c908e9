"use strict";
(function () {
  const log = document.getElementById("log");
  const buttons = document.getElementById("buttons");
  const form = document.getElementById("say");
  const input = document.getElementById("text");
  const status = document.getElementById("status");
  const rating = document.getElementById("rating");
  let session = null;
  let rating_open = false;

  // At the end of a conversation: a one-tap rating (or typed/spoken 满意 / 不满意 / good / bad); skip is an answer.
  function askRating() {
    rating_open = true;
    rating.hidden = false;
  }

  async function rate(payload) {
    const r = await fetch("/api/rating", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ session: session }, payload)),
    });
    if (!r.ok) return false;
    const d = await r.json();
    rating_open = false;
    rating.hidden = true;
    add("kiosk rated", d.rating === "skipped" ? "好的。OK." : "谢谢您的评价！Thank you for your feedback!");
    rating.dataset.given = d.rating;
    return true;
  }

  for (const b of rating.querySelectorAll("button")) {
    b.addEventListener("click", () => rate({ rating: b.dataset.rating }));
  }

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
    rating_open = false;
    rating.hidden = true;
    delete rating.dataset.given;
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
      if (d.action === "end") askRating();
    } catch (e) {
      add("kiosk", "网络错误 / Network error");
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    if (rating_open) {
      add("customer", text);
      rate({ text: text }).then((ok) => { if (!ok) send({ text: text }, null); });
      return;
    }
    send({ text: text }, text);
  });
  document.getElementById("new-session").addEventListener("click", newSession);
  fetch("/healthz").then((r) => r.json()).then((h) => {
    status.textContent = `policy ${h.policy} · model ${h.nlu} · ${h.status}`;
  });
  newSession();
})();
