// Hand-off pages: a summary the on-device LLM is still writing is fetched again until it is there.
"use strict";

async function refreshSummary(el) {
  try {
    const res = await fetch("/admin/api/handoffs/" + encodeURIComponent(el.dataset.summaryOf) + "/summary",
      { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) return false;
    const s = await res.json();
    if (s.source === "pending") return false;
    el.querySelector(".text").textContent = s.summary;
    const pill = el.querySelector(".pill");
    if (pill) {
      pill.textContent = s.source === "llm" ? "AI summary 智能摘要" : "Extract 摘录";
      pill.className = "pill source-" + s.source;
    }
    el.dataset.source = s.source;
    return true;
  } catch (err) {
    return false;  // Network hiccup: try again on the next tick.
  }
}

document.addEventListener("DOMContentLoaded", () => {
  let tries = 0;
  const timer = window.setInterval(async () => {
    const pending = document.querySelectorAll("[data-summary-of][data-source='pending']");
    tries += 1;
    if (pending.length === 0 || tries > 40) { window.clearInterval(timer); return; }
    for (const el of pending) await refreshSummary(el);
  }, 3000);
});
