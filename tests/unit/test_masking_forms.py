"""Masking of real-world forms: full-width digits, dotted cards, hidden separators, spaced names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.privacy import mask_pii

_FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def _luhn(body: str) -> str:
    for check in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(body + check)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return body + check
    raise AssertionError("unreachable")


def _resident_id(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("电话１３８１２３４５６７８", "1381234", id="full-width-phone"),
        pytest.param("卡号6222.0212.3456.7890.123", "622202123456", id="dotted-card"),
        pytest.param("手机138\u30001234\u30005678", "1381234", id="ideographic-space"),
        pytest.param("手机138\u200b1234\u200d5678", "1381234", id="zero-width"),
        pytest.param("card 6222\u00a00212\u00a03456\u00a07890\ufeff123", "622202123456", id="nbsp-bom"),
    ],
)
def test_real_world_number_forms_are_masked(text: str, secret: str) -> None:
    out = mask_pii(text)
    assert secret not in re.sub(r"\D", "", out), out


@pytest.mark.parametrize(
    ("text", "name"),
    [
        pytest.param("我叫 王小明", "王小明", id="zh-space"),
        pytest.param("我叫\u3000王小明", "王小明", id="zh-ideographic-space"),
        pytest.param("我是王小明", "王小明", id="zh-self"),
        pytest.param("I'm Wang Xiaoming", "Wang", id="en-im"),
        pytest.param("my name is Wang Xiaoming", "Wang", id="en-my-name"),
    ],
)
def test_spaced_and_english_self_introductions_are_masked(text: str, name: str) -> None:
    out = mask_pii(text)
    assert name not in out
    assert "[name]" in out


@pytest.mark.parametrize("text", ["存5000元", "3年定期", "2024.03.15到期", "利率1.75%", "I'm fine", "I'm here to pay"])
def test_amounts_dates_and_plain_english_stay_readable(text: str) -> None:
    assert mask_pii(text) == text


_SEPARATORS = st.sampled_from(["", " ", "-", ".", "\u3000", "\u200b", "\u200c", "\u200d", "\ufeff", "\u00a0", "  "])
_FILLER = st.text(alphabet="我的卡号是请帮查询谢谢 abc,.，。", max_size=8)


def _secret() -> st.SearchStrategy[str]:
    phone = st.builds(
        lambda a, rest: "1" + a + rest, st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9)
    )
    card = st.builds(lambda rest: _luhn("6222" + rest), st.text("0123456789", min_size=12, max_size=14))
    rid = st.builds(
        lambda area, rest: _resident_id(area + "19850612" + rest),
        st.just("110105"),
        st.text("0123456789", min_size=3, max_size=3),
    )
    return st.one_of(phone, card, rid)


@settings(max_examples=300, deadline=None)
@given(secret=_secret(), data=st.data(), before=_FILLER, after=_FILLER, full=st.booleans())
def test_no_run_of_the_real_digits_survives(
    secret: str, data: st.DataObject, before: str, after: str, full: bool
) -> None:
    groups = [secret[i : i + 4] for i in range(0, len(secret), 4)]
    written = groups[0]
    for group in groups[1:]:
        written += data.draw(_SEPARATORS) + group
    if full:
        written = written.translate(_FULL)
    out = mask_pii(f"{before}{written}{after}")
    kept = re.sub(r"\D", "", out.translate(_FULL))
    # The mask may show the last four digits; nothing before them may survive.
    assert secret[:-4] not in kept, (written, out)
