"""Draw the monthly compliance report as a PDF (reportlab, with an embedded CJK font).

The font is WenQuanYi Micro Hei (Debian ``fonts-wqy-microhei``, installed by set-up):
embedded as a subset, so the Chinese text reads back from the file on any machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from kiosk.admin.compliance import ComplianceReport, GroupFigures, ReportError

FONT_NAME = "KioskCJK"
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),
)


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return
    for path in FONT_CANDIDATES:
        if path.is_file():
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
            return
    raise ReportError(
        "no CJK font to draw the report with: install fonts-wqy-microhei (looked in "
        + ", ".join(str(p) for p in FONT_CANDIDATES)
        + ")"
    )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _group_rows(groups: Sequence[GroupFigures]) -> list[list[str]]:
    header = [
        "组别\nGroup",
        "会话\nSessions",
        "轮次\nTurns",
        "直接解答\nDecided",
        "澄清\nClarified",
        "转人工\nHanded off",
    ]
    header += ["风险提示\nRisk alerts", "p95\nms"]
    rows = [header]
    for g in groups:
        rows.append(
            [
                g.group,
                str(g.sessions),
                str(g.turns),
                _pct(g.decided, g.turns),
                _pct(g.clarified, g.turns),
                _pct(g.handed_off, g.turns),
                str(g.risk_alerts),
                f"{g.p95_ms:.0f}",
            ]
        )
    return rows


def render_pdf(report: ComplianceReport) -> bytes:
    """The report as PDF bytes.

    Raises:
        ReportError: no CJK font is installed.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    _register_font()
    body = ParagraphStyle("body", fontName=FONT_NAME, fontSize=9, leading=13, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=10)
    h1 = ParagraphStyle("h1", parent=body, fontSize=16, leading=22, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=body, fontSize=11.5, leading=16, spaceBefore=8, spaceAfter=3)

    def para(text: str, style: ParagraphStyle = small) -> Paragraph:
        return Paragraph("<br/>".join(escape(line) for line in text.split("\n")), style)

    def table(rows: list[list[str]], widths: Sequence[float] | None = None) -> Table:
        cells = [[para(c) for c in row] for row in rows]
        drawn = Table(cells, colWidths=widths, repeatRows=1)
        drawn.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.91, 0.96)),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return drawn

    o = report.overall
    story: list[Any] = [
        para(f"合规月报 Compliance report · {report.month}", h1),
        para(f"生成时间 Generated {report.generated_at} · 个人信息已脱敏 personal data masked", small),
        para("概况 Summary", h2),
        table(
            [
                ["会话 Conversations", "轮次 Turns", "直接解答 Decided", "澄清 Clarified", "转人工 Handed off"],
                [
                    str(o.sessions),
                    str(o.turns),
                    f"{o.decided} ({_pct(o.decided, o.turns)})",
                    f"{o.clarified} ({_pct(o.clarified, o.turns)})",
                    f"{o.handed_off} ({_pct(o.handed_off, o.turns)})",
                ],
                ["风险提示 Risk alerts", "排队取号 Tickets", "员工处理 Staff actions", "", ""],
                [
                    str(o.risk_alerts),
                    str(report.tickets),
                    ", ".join(f"{k} {v}" for k, v in sorted(report.staff_actions.items())) or "-",
                    "",
                    "",
                ],
            ]
        ),
        para("公平性 Fairness: by language and elderly mode", h2),
        table(
            _group_rows([*report.by_language, *report.by_elderly]),
            [30 * mm, 20 * mm, 16 * mm, 24 * mm, 22 * mm, 22 * mm, 24 * mm, 14 * mm],
        ),
        para("风险提示及处理 Risk alerts and what staff did", h2),
    ]
    if report.risk_alerts:
        rows = [["时间 At", "语言\nLang", "原因 Reason", "状态 Status", "员工处理 Staff actions"]]
        rows += [
            [a.at[:16].replace("T", " "), a.lang, a.reason, a.status, "\n".join(a.actions) or "-"]
            for a in report.risk_alerts
        ]
        story.append(table(rows, [28 * mm, 12 * mm, 60 * mm, 18 * mm, 52 * mm]))
    else:
        story.append(para("本月无风险提示 No risk alerts this month.", body))
    story.append(para("模型与策略版本 Active model and policy versions", h2))
    rows = [["名称 Name", "类型 Kind", "版本 Version", "来源 Origin", "启用时间 Activated", "许可 Licence"]]
    rows += [
        [
            str(v["name"]),
            str(v["kind"] or "-"),
            str(v["active"] or "-"),
            str(v["origin"] or "-"),
            str(v["activated_at"])[:16].replace("T", " ") or "seed",
            str(v["licence"] or "-"),
        ]
        for v in report.versions
    ]
    story.append(table(rows))
    if report.version_events:
        story.append(para("本月版本变更 Version changes this month", h2))
        rows = [["时间 At", "事件 Event", "名称 Name", "版本 Version"]]
        rows += [
            [str(e["at"])[:16].replace("T", " "), str(e["event"]), str(e["name"]), str(e["version"])]
            for e in report.version_events
        ]
        story.append(table(rows))
    story.append(para("设置变更（审计日志）Settings changes from the audit log", h2))
    if report.settings_changes:
        rows = [["时间 At", "员工 By", "设置 Setting", "由 From", "改为 To"]]
        rows += [
            [
                str(c["at"])[:16].replace("T", " "),
                str(c["username"]),
                str(c["target"]),
                str(c["detail"].get("from")),
                str(c["detail"].get("to")),
            ]
            for c in report.settings_changes
        ]
        story.append(table(rows))
    else:
        story.append(para("本月无设置变更 No settings changed this month.", body))
    out = BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"Compliance report {report.month}",
        author="bank kiosk",
        invariant=1,
    ).build(story)
    return out.getvalue()


def write_pdf(report: ComplianceReport, path: Path) -> int:
    """Write the PDF atomically (owner-only, like the kiosk's other state files); returns its size in bytes."""
    from bundles import atomic_write_bytes

    data = render_pdf(report)
    atomic_write_bytes(path, data)
    return len(data)
