"""Reading an ID card's fields from OCR lines, and the GB 11643 number checks."""

from __future__ import annotations

import math
import random
from datetime import date

import pytest

from edge_models.build.id_cards import check_digit, random_person
from edge_models.vision.ocr import OcrLine
from kiosk.idcard import (
    IdCardRead,
    IdCardUnreadable,
    id_number_problem,
    mask_id_number,
    parse_front,
)

GOOD = "11010519491231002X"


def _line(text: str, x: float, y: float, *, w: float = 0, h: float = 30.0, angle_deg: float = 0.0) -> OcrLine:
    w = w or 30.0 * len(text)
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    pts = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    rot = tuple((px * c - py * s, px * s + py * c) for px, py in pts)
    return OcrLine(text=text, box=rot, score=0.99)  # type: ignore[arg-type]


def _card(
    *,
    name: str = "张伟",
    sex: str = "女",
    eth: str = "汉",
    born: str = "1949年12月31日",
    addr: tuple[str, ...] = ("北京市朝阳区建设路", "12号3栋201室"),
    number: str = GOOD,
    angle: float = 0.0,
) -> list[OcrLine]:
    lines = [
        _line("姓名", 100, 100, angle_deg=angle),
        _line(name, 220, 98, angle_deg=angle),
        _line("性别", 100, 170, angle_deg=angle),
        _line(sex, 220, 170, angle_deg=angle),
        _line(f"民族{eth}", 330, 170, angle_deg=angle),
        _line(f"出生{born}", 100, 240, angle_deg=angle),
        _line("住址", 100, 310, angle_deg=angle),
        *[_line(a, 220, 310 + 40 * i, angle_deg=angle) for i, a in enumerate(addr)],
        _line("样本 SAMPLE", 640, 410, angle_deg=angle),
        _line("公民身份号码", 100, 490, angle_deg=angle),
        _line(number, 330, 488, angle_deg=angle),
    ]
    random.Random(3).shuffle(lines)  # the OCR's order is not the reading order
    return lines


def test_reads_every_field() -> None:
    result = parse_front(_card(), today=date(2026, 12, 1))
    assert isinstance(result, IdCardRead)
    f = result.fields
    assert (f.name, f.sex, f.ethnicity, f.birth) == ("张伟", "女", "汉", date(1949, 12, 31))
    assert f.address == "北京市朝阳区建设路12号3栋201室"
    assert f.id_number == GOOD


@pytest.mark.parametrize("angle", [-8.0, 6.0], ids=["tilted-left", "tilted-right"])
def test_rotated_card_is_straightened(angle: float) -> None:
    result = parse_front(_card(angle=angle))
    assert isinstance(result, IdCardRead), result
    assert result.fields.address == "北京市朝阳区建设路12号3栋201室"


def test_label_and_value_in_one_line_and_lowercase_x() -> None:
    lines = [ln for ln in _card(number=GOOD.lower()) if ln.text not in ("性别", "女")]
    lines.append(_line("性别女", 100, 170))
    result = parse_front(lines)
    assert isinstance(result, IdCardRead), result
    assert result.fields.id_number == GOOD


@pytest.mark.parametrize(
    ("changes", "failed"),
    [
        ({"number": GOOD[:-1] + "1"}, ("id_number",)),
        ({"number": "990105194912310021"}, ("id_number",)),
        ({"born": "1949年12月30日"}, ("birth",)),
        ({"sex": "男"}, ("sex",)),
        ({"eth": "火星"}, ("ethnicity",)),
        ({"name": "A1"}, ("name",)),
        ({"addr": ("北京",)}, ("address",)),
        ({"born": "1949年13月31日"}, ("birth",)),
    ],
    ids=["check-digit", "region", "birth-mismatch", "sex-mismatch", "ethnicity", "name", "address", "bad-date"],
)
def test_names_the_field_that_failed(changes: dict[str, object], failed: tuple[str, ...]) -> None:
    result = parse_front(_card(**changes))  # type: ignore[arg-type]
    assert isinstance(result, IdCardUnreadable)
    assert result.failed == failed
    assert "name" in result.partial or "name" in failed


def test_nothing_readable() -> None:
    result = parse_front([])
    assert isinstance(result, IdCardUnreadable)
    assert result.failed == ("name", "sex", "ethnicity", "birth", "address", "id_number")


def test_id_number_rules() -> None:
    assert id_number_problem(GOOD) is None
    assert id_number_problem("110105194902300021") == "birth date 19490230 is not a real date"
    assert id_number_problem("11010520301231002X", today=date(2026, 1, 1)) is not None
    assert id_number_problem("1101051949123100") is not None
    assert id_number_problem(GOOD[:-1] + "0") == "check digit does not match"


def test_generated_people_have_valid_numbers() -> None:
    rng = random.Random(5)
    for _ in range(200):
        p = random_person(rng)
        assert id_number_problem(p.id_number) is None
        assert p.id_number[6:14] == p.birth.strftime("%Y%m%d")
        assert (int(p.id_number[16]) % 2 == 1) == (p.sex == "男")
    assert check_digit("11010519491231002") == "X"


def test_mask_keeps_region_and_last_four() -> None:
    assert mask_id_number(GOOD) == "110105********002X"


def test_result_round_trip() -> None:
    result = parse_front(_card())
    assert IdCardRead.model_validate_json(result.model_dump_json()) == result
    bad = parse_front([])
    assert IdCardUnreadable.model_validate_json(bad.model_dump_json()) == bad


def test_faint_labels_fall_back_to_layout() -> None:
    lines = [ln for ln in _card(eth="東土家") if not ln.text.startswith("出生")]
    lines.append(_line("1949年12月31日", 220, 240))  # the 出生 label was not read
    result = parse_front(lines)
    assert isinstance(result, IdCardRead), result
    assert (result.fields.birth, result.fields.ethnicity) == (date(1949, 12, 31), "土家")
