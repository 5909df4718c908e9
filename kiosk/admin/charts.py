"""Server-rendered SVG charts and the Prometheus text exposition (no JavaScript, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from html import escape

from kiosk.admin.accounts import AdminDB
from kiosk.admin.reports import day_start, percentile
from kiosk.admin.resolution import outcomes, prometheus_lines

WIDTH, HEIGHT, PAD = 640, 180, 32


def line_chart(title: str, labels: Sequence[str], series: dict[str, Sequence[float]], unit: str = "") -> str:
    """An SVG line chart: one polyline per series over the x labels (e.g. days).

    Series names become CSS classes ``s0``, ``s1`` …; colours live in the stylesheet.
    """
    values = [v for vs in series.values() for v in vs]
    top = max(values, default=0.0) or 1.0
    n = max(len(labels) - 1, 1)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def xy(i: int, v: float) -> str:
        return f"{PAD + inner_w * i / n:.1f},{PAD + inner_h * (1 - v / top):.1f}"

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}"'
        f' xmlns="http://www.w3.org/2000/svg">',
        f'<text class="title" x="{PAD}" y="14">{escape(title)}</text>',
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}"/>',
        f'<text class="tick" x="{WIDTH - PAD}" y="16" text-anchor="end">max {top:.3g}{escape(unit)}</text>',
    ]
    if labels:
        parts.append(f'<text class="tick" x="{PAD}" y="{HEIGHT - 10}">{escape(labels[0])}</text>')
        parts.append(
            f'<text class="tick" x="{WIDTH - PAD}" y="{HEIGHT - 10}" text-anchor="end">{escape(labels[-1])}</text>'
        )
    for k, (name, vs) in enumerate(series.items()):
        points = " ".join(xy(i, v) for i, v in enumerate(vs))
        parts.append(f'<polyline class="s{k}" points="{points}"><title>{escape(name)}</title></polyline>')
        parts.append(f'<text class="legend s{k}" x="{PAD + 130 * k}" y="{PAD - 6}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def prometheus(db: AdminDB, up: bool) -> str:
    """Counters and gauges of ``kiosk.db`` in the Prometheus text format (version 0.0.4)."""
    lines = [
        "# HELP kiosk_up 1 when every stage loaded, 0 when degraded.",
        "# TYPE kiosk_up gauge",
        f"kiosk_up {int(up)}",
        "# HELP kiosk_turns_total Turns handled, by language, deciding stage and action.",
        "# TYPE kiosk_turns_total counter",
    ]
    for r in db.query("SELECT lang, stage, action, COUNT(*) n FROM turns GROUP BY lang, stage, action"):
        lines.append(
            f'kiosk_turns_total{{lang="{_label(r["lang"])}",stage="{_label(r["stage"])}",'
            f'action="{_label(r["action"])}"}} {r["n"]}'
        )
    lines += ["# HELP kiosk_handoffs_total Hand-offs and risk alerts, by kind.", "# TYPE kiosk_handoffs_total counter"]
    for r in db.query("SELECT kind, COUNT(*) n FROM handoffs GROUP BY kind"):
        lines.append(f'kiosk_handoffs_total{{kind="{_label(r["kind"])}"}} {r["n"]}')
    lines += [
        "# HELP kiosk_side_effects_refused_total Hand-offs, risk alerts and tickets the kiosk-wide limit refused.",
        "# TYPE kiosk_side_effects_refused_total counter",
    ]
    for r in db.query("SELECT kind, SUM(n) n FROM refused_effects GROUP BY kind"):
        lines.append(f'kiosk_side_effects_refused_total{{kind="{_label(r["kind"])}"}} {r["n"]}')
    waiting = db.query("SELECT COUNT(*) n FROM handoffs WHERE status = 'waiting'")[0]["n"]
    lines += [
        "# HELP kiosk_handoffs_waiting Customers waiting for staff now.",
        "# TYPE kiosk_handoffs_waiting gauge",
        f"kiosk_handoffs_waiting {waiting}",
    ]
    recent = [float(r["latency_ms"]) for r in db.query("SELECT latency_ms FROM turns ORDER BY id DESC LIMIT 1000")]
    lines += [
        "# HELP kiosk_turn_latency_ms Engine latency of the last 1000 turns.",
        "# TYPE kiosk_turn_latency_ms summary",
        f'kiosk_turn_latency_ms{{quantile="0.5"}} {percentile(recent, 0.5):.3f}',
        f'kiosk_turn_latency_ms{{quantile="0.95"}} {percentile(recent, 0.95):.3f}',
        f"kiosk_turn_latency_ms_sum {sum(recent):.3f}",
        f"kiosk_turn_latency_ms_count {len(recent)}",
    ]
    week = day_start(datetime.now(UTC) - timedelta(days=6))
    lines += prometheus_lines(outcomes(db, week), _label)
    return "\n".join(lines) + "\n"
