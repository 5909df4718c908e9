"""Reading the front of a PRC resident ID card from OCR lines (pure, no I/O).

The OCR gives text lines with their boxes. The card is straightened with the
lines' own slant, lines are grouped into rows, and the fields are read by
their printed labels (姓名 性别 民族 出生 住址 公民身份号码) and positions:
the address runs over the rows between 住址 and the number. The ID number
is checked as GB 11643 says (region code, a real birth date, check digit)
and against the printed birth date and sex. The result is an
:class:`IdCardRead` or an :class:`IdCardUnreadable` naming the failed fields.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

from edge_models.vision.ocr import OcrLine

FieldName: TypeAlias = Literal["name", "sex", "ethnicity", "birth", "address", "id_number"]
FIELDS: tuple[FieldName, ...] = ("name", "sex", "ethnicity", "birth", "address", "id_number")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# The first two digits of a region code: provinces, Taiwan (71), Hong Kong (81), Macao (82).
_PROVINCE_CODES = (
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82"
)
_PROVINCES = frozenset(_PROVINCE_CODES.split())
_ETHNIC_GROUPS_TEXT = (  # the 56 groups as printed after 民族
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
    "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 "
    "塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
)
ETHNIC_GROUPS = frozenset(_ETHNIC_GROUPS_TEXT.split())
_NAME = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff·]{0,14}")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_ID = re.compile(r"\d{17}[\dX]")
_SAMPLE_MARK = re.compile(r"^(样本|SAMPLE|样本SAMPLE)$", re.IGNORECASE)
_MIN_ADDRESS = 6


class IdCardFields(BaseModel):
    """The printed fields of the card's front."""

    model_config = ConfigDict(frozen=True)

    name: str
    sex: Literal["男", "女"]
    ethnicity: str
    birth: date
    address: str
    id_number: str


class IdCardRead(BaseModel):
    """Every field was read and the ID number checks out."""

    model_config = ConfigDict(frozen=True)

    status: Literal["read"] = "read"
    fields: IdCardFields


class IdCardUnreadable(BaseModel):
    """Some fields could not be read or do not check out; ``failed`` names them."""

    model_config = ConfigDict(frozen=True)

    status: Literal["unreadable"] = "unreadable"
    failed: tuple[FieldName, ...]
    reason: str
    partial: dict[str, str] = {}


IdCardResult: TypeAlias = IdCardRead | IdCardUnreadable


def id_number_problem(number: str, today: date | None = None) -> str | None:
    """Why ``number`` is not a valid 18-character resident ID number (GB 11643), or ``None``."""
    if not _ID.fullmatch(number):
        return "not 17 digits and a check character"
    if number[:2] not in _PROVINCES:
        return f"region code {number[:6]} names no province"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return f"birth date {number[6:14]} is not a real date"
    if born.year < 1900 or (today is not None and born > today):
        return f"birth date {born.isoformat()} is out of range"
    if _CHECK[sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True)) % 11] != number[17]:
        return "check digit does not match"
    return None


def mask_id_number(number: str) -> str:
    """``110101********123X``: the region code and the last four characters only."""
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


@dataclass(frozen=True, slots=True)
class _Placed:
    text: str
    x0: float
    x1: float
    yc: float
    h: float


def _place(lines: Sequence[OcrLine]) -> list[_Placed]:
    """Lines in the card's frame: rotated by the median slant of the wide lines."""
    slants = []
    for line in lines:
        (x0, y0), (x1, y1) = line.box[0], line.box[1]
        if math.hypot(x1 - x0, y1 - y0) > 2 * _height(line):
            slants.append(math.atan2(y1 - y0, x1 - x0))
    angle = statistics.median(slants) if slants else 0.0
    cos, sin = math.cos(-angle), math.sin(-angle)
    placed = []
    for line in lines:
        pts = [(x * cos - y * sin, x * sin + y * cos) for x, y in line.box]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        text = re.sub(r"\s+", "", line.text)
        placed.append(_Placed(text, min(xs), max(xs), (min(ys) + max(ys)) / 2, _height(line)))
    return placed


def _height(line: OcrLine) -> float:
    (x0, y0), (x3, y3) = line.box[0], line.box[3]
    return max(1.0, math.hypot(x3 - x0, y3 - y0))


def _rows(placed: list[_Placed]) -> list[str]:
    """Texts of the rows, top to bottom, each read left to right."""
    if not placed:
        return []
    tol = 0.6 * statistics.median(p.h for p in placed)
    rows: list[list[_Placed]] = []
    for p in sorted(placed, key=lambda p: p.yc):
        if rows and abs(p.yc - statistics.fmean(q.yc for q in rows[-1])) < tol:
            rows[-1].append(p)
        else:
            rows.append([p])
    return ["".join(p.text for p in sorted(row, key=lambda p: p.x0)) for row in rows]


def _normalise(text: str) -> str:
    text = text.replace("：", "").replace(":", "")
    return re.sub(r"[xX×]", "X", text)


def _ethnic_group(value: str) -> str | None:
    """The group named in ``value``: exactly, else the longest name inside it (a stray mark read along)."""
    value = value.removesuffix("族")
    if value in ETHNIC_GROUPS:
        return value
    inside = [g for g in ETHNIC_GROUPS if g in value]
    return max(inside, key=len) if inside and len(value) <= max(len(g) for g in inside) + 1 else None


def _after(rows: list[str], label: str) -> tuple[int, str] | None:
    for i, row in enumerate(rows):
        at = row.find(label)
        if at >= 0:
            return i, row[at + len(label) :]
    return None


def parse_front(lines: Sequence[OcrLine], today: date | None = None) -> IdCardResult:
    """Read the fields of a card's front from its OCR lines.

    Args:
        lines: The OCR lines of one image (any order, slightly rotated is fine).
        today: For the birth-date range check; ``None`` skips "not in the future".

    Returns:
        :class:`IdCardRead`, or :class:`IdCardUnreadable` with the failed fields.
    """
    rows = [_normalise(r) for r in _rows([p for p in _place(lines) if not _SAMPLE_MARK.match(p.text)])]
    found: dict[str, str] = {}
    failed: list[FieldName] = []
    reasons: list[str] = []

    number_at = next((i for i, r in enumerate(rows) if _ID.search(r.replace("公民身份号码", ""))), None)
    number = ""
    if number_at is not None:
        number = _ID.findall(rows[number_at].replace("公民身份号码", ""))[0]
        found["id_number"] = number

    name = _after(rows, "姓名")
    if name and (m := _NAME.fullmatch(name[1])):
        found["name"] = m.group(0)
    sex_row = _after(rows, "性别")
    if sex_row and (m := re.match(r"([男女])", sex_row[1])):
        found["sex"] = m.group(1)
    eth = _after(rows, "民族")
    if eth and (group := _ethnic_group(eth[1])):
        found["ethnicity"] = group
    born_row = _after(rows, "出生")
    if born_row is None:  # the faint label was not read: the date row itself (not the number's row)
        born_row = next(((i, r) for i, r in enumerate(rows) if i != number_at and _DATE.match(r)), None)
    if born_row and (m := _DATE.match(born_row[1])):
        try:
            found["birth"] = date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            reasons.append("birth: not a real date")
    addr = _after(rows, "住址")
    if addr:
        end = number_at if number_at is not None and number_at > addr[0] else len(rows)
        parts = [addr[1], *rows[addr[0] + 1 : end]]
        text = "".join(p for p in parts if "公民身份号码" not in p)
        if len(text) >= _MIN_ADDRESS:
            found["address"] = text

    failed = [f for f in FIELDS if f not in found]
    if "id_number" in found:
        problem = id_number_problem(number, today)
        if problem is not None:
            failed.append("id_number")
            reasons.append(f"id_number: {problem}")
        else:
            if found.get("birth") not in (None, f"{number[6:10]}-{number[10:12]}-{number[12:14]}"):
                failed.append("birth")
                reasons.append("birth: does not match the ID number")
            if "sex" in found and (int(number[16]) % 2 == 1) != (found["sex"] == "男"):
                failed.append("sex")
                reasons.append("sex: does not match the ID number")
    if failed:
        reasons = [f"{f}: not read" for f in FIELDS if f not in found] + reasons
        partial = {k: v for k, v in found.items() if k not in failed}
        ordered = tuple(f for f in FIELDS if f in failed)
        return IdCardUnreadable(failed=ordered, reason="; ".join(reasons), partial=partial)
    fields = IdCardFields.model_validate({**found, "birth": date.fromisoformat(found["birth"])})
    return IdCardRead(fields=fields)
