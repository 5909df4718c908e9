"""Masking of personal data before text is stored or leaves the kiosk.

Masked: bank card numbers (13-19 digits, Luhn-valid, or 16-19 digits even
with a typo), PRC resident ID numbers (18 characters with a real birth date,
or the old 15-digit form), phone numbers (mainland mobiles, landlines with
an area code, +86 forms), e-mail addresses, passport numbers, and names the
customer introduces ("我叫…", "my name is …").

Amounts, dates, times, ticket numbers and short codes are left alone.
"""

from __future__ import annotations

import re
from datetime import date

# Full-width digits/letters become ASCII, U+3000 and NBSP become spaces, zero-width
# characters go: the NFKC forms that matter for digits, without rewriting the
# customer's Chinese punctuation (which full NFKC would turn into ASCII).
_FULL_WIDTH = [*range(0xFF10, 0xFF1A), *range(0xFF20, 0xFF3B), *range(0xFF41, 0xFF5B), 0xFF0B, 0xFF0D, 0xFF0E]
_NORMALISE: dict[int, int | str | None] = {cp: cp - 0xFEE0 for cp in _FULL_WIDTH}
_NORMALISE.update({0x3000: " ", 0x00A0: " ", 0x202F: " ", 0x2007: " "})
_NORMALISE.update(dict.fromkeys((0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)))

_SEP = r"[ \-]?"
# Runs of digit groups joined by single spaces or dashes (how people type card numbers).
_NUMBER_RUN = re.compile(r"(?<![0-9])\+?\d+(?:[ \-.]{1,3}\d+)*[Xx]?(?![0-9A-Za-z])")
_MAX_GROUPS = 8
_STRONG, _WEAK = 2, 1
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PASSPORT = re.compile(r"(?<![A-Za-z0-9])[EeGgDdSsPp][A-Za-z]?\d{7,8}(?![A-Za-z0-9])")
_LANDLINE = re.compile(r"(?<![0-9])0\d{2,3}[ \-]\d{7,8}(?![0-9])")
_ZH_NAME = re.compile(r"((?:我叫|我的名字是|我的名字叫|姓名[:：]?|名字[:：])\s*)([\u4e00-\u9fff]{2,4})")
# "我是王芳" is a name only when a common surname follows and the phrase ends there.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_ZH_SELF = re.compile(rf"((?:我是|本人)\s*)([{_SURNAMES}][\u4e00-\u9fff]{{1,2}})(?=[，。,.!！?？\s]|$)")
_EN_NAME = re.compile(r"\b((?i:my name is|my name's|i am called|name:))\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2}|[a-z]+)")
# "I'm Wang Xiaoming": only capitalised words, so "I'm fine" stays.
_EN_SELF = re.compile(r"\b((?i:i'm|i’m|i am|this is))\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2})\b")
_NOT_EN_NAMES = frozenset(
    {"a", "an", "the", "not", "and", "on", "in", "here", "new", "just", "also", "still", "Not", "Here", "Just"}
)
_NOT_NAMES = frozenset(
    {
        "外国人",
        "中国人",
        "本人",
        "客户",
        "老人",
        "学生",
        "新客户",
        "老客户",
        "来办",
        "想问",
        "想要",
        "要办",
        "来取",
        "个体户",
    }
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` passes the Luhn checksum used by bank cards."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _valid_birth(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def resident_id_valid(value: str) -> bool:
    """True for an 18-character PRC resident ID with a real date and a correct check digit."""
    value = value.upper()
    if not re.fullmatch(r"\d{17}[\dX]", value) or not _valid_birth(value[6:14]):
        return False
    total = sum(int(value[i]) * _ID_WEIGHTS[i] for i in range(17))
    return _ID_CHECK[total % 11] == value[17]


def _looks_like_id(value: str) -> bool:
    value = value.upper()
    if re.fullmatch(r"\d{17}[\dX]", value):
        return _valid_birth(value[6:14])
    if re.fullmatch(r"\d{15}", value):
        return _valid_birth("19" + value[6:12])
    return False


def _mobile(digits: str) -> bool:
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return bool(re.fullmatch(r"1[3-9]\d{9}", digits))


def _card_grouping(groups: list[str]) -> bool:
    """One block of digits, or blocks of four (the last may be shorter)."""
    return len(groups) == 1 or all(len(g) == 4 for g in groups[:-1])


def _classify(groups: list[str]) -> tuple[int, str] | None:
    """How surely a run of digit groups is personal data, and its mask."""
    value = "".join(groups).lstrip("+").upper()
    if value.endswith("X"):
        if re.fullmatch(r"\d{17}X", value) and (resident_id_valid(value) or len(groups) == 1):
            return (_STRONG if resident_id_valid(value) else _WEAK), "[id]"
        return None
    if len(value) == 18 and resident_id_valid(value):
        return _STRONG, "[id]"
    if _mobile(value):
        return _STRONG, f"[phone ****{value[-4:]}]"
    card = f"[card ****{value[-4:]}]"
    if 13 <= len(value) <= 19 and luhn_valid(value):
        return _STRONG, card
    if len(groups) == 1 and _looks_like_id(value):
        return _WEAK, "[id]"
    if 16 <= len(value) <= 19 and _card_grouping(groups):
        return _WEAK, card
    return None


def _mask_number_run(match: re.Match[str]) -> str:
    parts = re.split(r"([ \-.]{1,3})", match.group(0))
    groups, seps = parts[0::2], parts[1::2]
    out: list[str] = []
    i = 0
    while i < len(groups):
        best: tuple[int, int, str] | None = None
        for j in range(min(len(groups), i + _MAX_GROUPS) - 1, i - 1, -1):
            found = _classify(groups[i : j + 1])
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], j, found[1])
        if best is None:
            out.append(groups[i])
            i += 1
        else:
            out.append(best[2])
            i = best[1] + 1
        if i < len(groups):
            out.append(seps[i - 1])
    return "".join(out)


def _mask_en_name(match: re.Match[str]) -> str:
    if match.group(2) in _NOT_EN_NAMES:
        return match.group(0)
    return f"{match.group(1)} [name]"


def _mask_zh_name(match: re.Match[str]) -> str:
    name = match.group(2)
    if name in _NOT_NAMES or any(name.startswith(w) for w in _NOT_NAMES):
        return match.group(0)
    return f"{match.group(1)}[name]"


def mask_pii(text: str) -> str:
    """Return ``text`` with personal data replaced by ``[card ****1234]``-style tokens.

    The text is first normalised (full-width digits to ASCII, U+3000/NBSP to spaces,
    zero-width characters dropped) and the normalised, masked text is returned: a
    mapping back could put a hidden character between masked digits again.
    """
    text = text.translate(_NORMALISE)
    text = _EMAIL.sub("[email]", text)
    text = _NUMBER_RUN.sub(_mask_number_run, text)
    text = _LANDLINE.sub("[phone]", text)
    text = _PASSPORT.sub("[passport]", text)
    text = _ZH_NAME.sub(_mask_zh_name, text)
    text = _ZH_SELF.sub(_mask_zh_name, text)
    text = _EN_NAME.sub(_mask_en_name, text)
    return _EN_SELF.sub(_mask_en_name, text)
