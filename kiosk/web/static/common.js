"use strict";
// Shared by the two customer pages: index.html (the text chat) and kiosk.html (the live kiosk screen).
// Text from the server is always set as text, never as HTML.
window.KioskPage = Object.freeze({
  // Append a line (with an optional small "meta" note) to a log and scroll to it.
  line(log, cls, text, meta) {
    const div = document.createElement("div");
    div.className = cls;
    div.textContent = text;
    if (meta) {
      const span = document.createElement("span");
      span.className = "meta";
      span.textContent = meta;
      div.appendChild(span);
    }
    log.appendChild(div);
    div.scrollIntoView({ block: "end" });
    return div;
  },

  // A button with a text label that calls onClick.
  button(label, onClick) {
    const el = document.createElement("button");
    el.type = "button";
    el.textContent = label;
    el.addEventListener("click", onClick);
    return el;
  },

  // POST a JSON body, or a raw one with its content type (same origin: the device cookie goes along).
  // Resolves to the parsed answer, or null after calling onError with "status: detail".
  async post(url, body, onError, type) {
    const r = await fetch(url, type ? { method: "POST", headers: { "Content-Type": type }, body: body } : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!r.ok) {
      let detail = r.statusText;
      try { detail = JSON.stringify((await r.json()).detail); } catch (e) { /* not JSON */ }
      onError(`${r.status}: ${detail}`);
      return null;
    }
    return r.json();
  },
});
