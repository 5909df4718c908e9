"""Screen layout around the avatar: pure geometry and the words shown.

Portrait (the kiosk default, 1080x1920) puts the avatar on top and the
subtitles and buttons below; landscape puts them side by side. Sizes scale
with the screen; the elderly-friendly mode uses larger text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from avatar.animation import AvatarState

Lang = Literal["zh", "en"]
Rect = tuple[int, int, int, int]

STAFF_BUTTON = "staff:call"
LANG_BUTTON = "ui:lang"
ELDERLY_BUTTON = "ui:elderly"

# The top services shown when a reply offers no buttons of its own.
TOP_SERVICES: dict[Lang, tuple[tuple[str, str], ...]] = {
    "zh": (
        ("intent:queue_ticket", "取号排队"),
        ("intent:exchange_rate", "外汇牌价"),
        ("intent:card_lost", "挂失银行卡"),
        ("intent:account_open", "开户指南"),
    ),
    "en": (
        ("intent:queue_ticket", "Queue ticket"),
        ("intent:exchange_rate", "Exchange rates"),
        ("intent:card_lost", "Lost card"),
        ("intent:account_open", "Open an account"),
    ),
}

UI_TEXT: dict[Lang, dict[str, str]] = {
    "zh": {
        "title": "智能柜员 · 随时为您服务",
        "staff": "呼叫工作人员",
        "elderly_on": "标准字体",
        "elderly_off": "大字模式",
        "heard": "您说：",
        AvatarState.IDLE: "您好，请靠近屏幕",
        AvatarState.ATTENTIVE: "我在这里，请问需要什么帮助？",
        AvatarState.LISTENING: "正在聆听",
        AvatarState.THINKING: "正在思考",
        AvatarState.SPEAKING: "正在回答",
    },
    "en": {
        "title": "Branch assistant · here to help",
        "staff": "Call staff",
        "elderly_on": "Standard text",
        "elderly_off": "Large text",
        "heard": "You said: ",
        AvatarState.IDLE: "Hello, please step closer",
        AvatarState.ATTENTIVE: "I'm here. How can I help?",
        AvatarState.LISTENING: "Listening",
        AvatarState.THINKING: "Thinking",
        AvatarState.SPEAKING: "Answering",
    },
}


@dataclass(frozen=True, slots=True)
class ScreenModel:
    """What the screen shows besides the avatar. Reset it when a session ends."""

    lang: Lang = "zh"
    said: str = ""
    heard: str = ""
    buttons: tuple[tuple[str, str], ...] = ()
    elderly: bool = False

    @property
    def shown_buttons(self) -> tuple[tuple[str, str], ...]:
        """The reply's buttons, else the top services (at most six)."""
        return (self.buttons or TOP_SERVICES[self.lang])[:6]


@dataclass(frozen=True, slots=True)
class Layout:
    """Rectangles (x, y, w, h) of every region, in screen pixels."""

    width: int
    height: int
    unit: float
    top_bar: Rect
    lang_button: Rect
    staff_button: Rect
    avatar: Rect
    status: Rect
    subtitles: Rect
    buttons_area: Rect
    elderly_button: Rect
    text_px: int
    small_px: int
    button_px: int
    buttons: tuple[Rect, ...] = field(default=())

    @classmethod
    def compute(cls, width: int, height: int, elderly: bool = False, n_buttons: int = 4) -> Layout:
        """The layout of a ``width`` x ``height`` screen.

        Raises:
            ValueError: If the screen is smaller than 240x240.
        """
        if width < 240 or height < 240:
            raise ValueError(f"screen {width}x{height} is too small (at least 240x240)")
        portrait = height >= width
        unit = (width if portrait else height) / 1080.0
        scale = 1.3 if elderly else 1.0
        pad = round(32 * unit)
        bar_h = round(120 * unit)
        top_bar = (0, 0, width, bar_h)
        staff_w, lang_w, ctl_h = round(330 * unit), round(210 * unit), round(80 * unit)
        staff = (width - pad - staff_w, (bar_h - ctl_h) // 2, staff_w, ctl_h)
        lang = (staff[0] - pad // 2 - lang_w, staff[1], lang_w, ctl_h)
        if portrait:
            avatar_h = round(height * 0.54)
            avatar = (0, bar_h, width, avatar_h - bar_h)
            status = (pad, avatar_h - round(40 * unit), width - 2 * pad, round(80 * unit))
            sub_top = status[1] + status[3] + pad // 2
            panel_x, panel_w = pad, width - 2 * pad
        else:
            avatar = (0, bar_h, width // 2, height - bar_h)
            status = (pad, height - round(110 * unit), width // 2 - 2 * pad, round(80 * unit))
            sub_top = bar_h + pad
            panel_x, panel_w = width // 2 + pad, width // 2 - 2 * pad
        foot_h = round(96 * unit)
        elderly_btn = (width - pad - round(260 * unit), height - foot_h - pad // 2, round(260 * unit), foot_h)
        rows = max(1, (n_buttons + 1) // 2)
        btn_h = round((118 if elderly else 100) * unit)
        gap = round(20 * unit)
        area_h = rows * btn_h + (rows - 1) * gap
        area_bottom = elderly_btn[1] - pad // 2
        area = (panel_x, area_bottom - area_h, panel_w, area_h)
        subtitles = (panel_x, sub_top, panel_w, max(area[1] - gap - sub_top, round(100 * unit)))
        col_w = (panel_w - gap) // 2
        rects: list[Rect] = []
        for i in range(n_buttons):
            row, col = divmod(i, 2)
            full = n_buttons % 2 == 1 and i == n_buttons - 1
            rects.append(
                (
                    panel_x + (0 if full else col * (col_w + gap)),
                    area[1] + row * (btn_h + gap),
                    panel_w if full else col_w,
                    btn_h,
                )
            )
        return cls(
            width=width,
            height=height,
            unit=unit,
            top_bar=top_bar,
            lang_button=lang,
            staff_button=staff,
            avatar=avatar,
            status=status,
            subtitles=subtitles,
            buttons_area=area,
            elderly_button=elderly_btn,
            text_px=round(50 * unit * scale),
            small_px=round(34 * unit * scale),
            button_px=round(38 * unit * scale),
            buttons=tuple(rects),
        )

    def hit(self, x: int, y: int, screen: ScreenModel) -> str | None:
        """The id of the button at ``(x, y)``, if any (staff, language, mode or a reply button)."""
        for rect, ident in (
            (self.staff_button, STAFF_BUTTON),
            (self.lang_button, LANG_BUTTON),
            (self.elderly_button, ELDERLY_BUTTON),
            *zip(self.buttons, (b[0] for b in screen.shown_buttons), strict=False),
        ):
            rx, ry, rw, rh = rect
            if rx <= x < rx + rw and ry <= y < ry + rh:
                return ident
        return None
