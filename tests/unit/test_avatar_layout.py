"""Screen layout around the avatar: pure geometry."""

from __future__ import annotations

import pytest

from avatar.layout import ELDERLY_BUTTON, LANG_BUTTON, STAFF_BUTTON, Layout, Rect, ScreenModel


def inside(rect: Rect, w: int, h: int) -> bool:
    x, y, rw, rh = rect
    return x >= 0 and y >= 0 and x + rw <= w and y + rh <= h and rw > 0 and rh > 0


def overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.parametrize(
    ("w", "h", "elderly", "n"),
    [
        (1080, 1920, False, 4),
        (1080, 1920, True, 6),
        (720, 1280, False, 3),
        (1920, 1080, False, 5),
        (480, 480, True, 1),
    ],
    ids=["portrait", "portrait-elderly-6", "small-portrait-3", "landscape-5", "square-1"],
)
def test_regions_fit_and_do_not_overlap(w: int, h: int, elderly: bool, n: int) -> None:
    layout = Layout.compute(w, h, elderly=elderly, n_buttons=n)
    regions = [layout.staff_button, layout.lang_button, layout.subtitles, layout.elderly_button, *layout.buttons]
    assert len(layout.buttons) == n
    for rect in regions:
        assert inside(rect, w, h), rect
    for i, a in enumerate(regions):
        for b in regions[i + 1 :]:
            assert not overlap(a, b), (a, b)


def test_elderly_text_is_larger() -> None:
    assert Layout.compute(1080, 1920, elderly=True).text_px > Layout.compute(1080, 1920).text_px * 1.2


def test_too_small_screen_is_rejected() -> None:
    with pytest.raises(ValueError, match="too small"):
        Layout.compute(100, 200)


def test_hit_testing_finds_every_button() -> None:
    screen = ScreenModel(lang="en", buttons=(("intent:card_lost", "Lost card"), ("handoff", "Talk to staff")))
    layout = Layout.compute(1080, 1920, n_buttons=len(screen.shown_buttons))

    def centre(r: Rect) -> tuple[int, int]:
        return r[0] + r[2] // 2, r[1] + r[3] // 2

    assert layout.hit(*centre(layout.staff_button), screen) == STAFF_BUTTON
    assert layout.hit(*centre(layout.lang_button), screen) == LANG_BUTTON
    assert layout.hit(*centre(layout.elderly_button), screen) == ELDERLY_BUTTON
    assert layout.hit(*centre(layout.buttons[1]), screen) == "handoff"
    assert layout.hit(5, 700, screen) is None


def test_top_services_when_the_reply_has_no_buttons() -> None:
    assert [b[0] for b in ScreenModel(lang="zh").shown_buttons][:2] == ["intent:queue_ticket", "intent:exchange_rate"]
    assert len(ScreenModel(buttons=tuple((f"b{i}", "x") for i in range(9))).shown_buttons) == 6
