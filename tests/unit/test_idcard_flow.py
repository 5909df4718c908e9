"""The ID card form flow: read, retry then staff, corrections, confirmation, the masked staff summary."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.idcard import IdCardFields, IdCardRead, IdCardUnreadable
from kiosk.idcard.flow import IdCardFlow, form_problems, normalise_field

READ = IdCardRead(
    fields=IdCardFields(
        name="张伟",
        sex="女",
        ethnicity="汉",
        birth=date(1949, 12, 31),
        address="北京市朝阳区建设路12号3栋201室",
        id_number="11010519491231002X",
    )
)
UNREADABLE = IdCardUnreadable(failed=("address", "id_number"), reason="x")


def test_read_card_fills_the_form_and_confirm_hands_off() -> None:
    flow = IdCardFlow()
    step = flow.card(READ, "zh")
    assert step.kind == "form"
    assert step.buttons[0] == ("idcard:confirm", "确认无误")
    assert flow.form["id_number"] == "11010519491231002X"
    done = flow.button("idcard:confirm", "zh")
    assert done is not None
    assert done.kind == "confirmed"
    assert done.handoff_reason == "account opening: ID card form confirmed by the customer"
    assert flow.button("idcard:confirm", "zh") is None  # already handed over


def test_unreadable_twice_goes_to_staff() -> None:
    flow = IdCardFlow()
    first = flow.card(UNREADABLE, "en")
    assert first.kind == "retry"
    assert "address, id number" in first.reply
    assert first.handoff_reason is None
    second = flow.card(UNREADABLE, "en")
    assert second.kind == "staff"
    assert second.handoff_reason == "account opening: ID card unreadable (address, id_number)"


def test_correction_is_validated_and_marked() -> None:
    flow = IdCardFlow()
    flow.card(READ, "en")
    assert flow.button("idcard:fix:birth", "en") is not None
    assert flow.correction("1949-02-30", "en").kind == "edit"  # not a real date: asked again
    step = flow.correction("1949年12月31日", "en")
    assert step.kind == "form"
    assert flow.corrected == {"birth"}
    with pytest.raises(ValueError, match="no field"):
        flow.correction("again", "en")


def test_confirm_refused_while_fields_contradict_the_number() -> None:
    flow = IdCardFlow()
    flow.card(READ, "zh")
    flow.button("idcard:fix:sex", "zh")
    flow.correction("男", "zh")
    step = flow.button("idcard:confirm", "zh")
    assert step is not None
    assert step.kind == "invalid"
    assert "性别" in step.reply
    assert form_problems(flow.form) == ["sex"]


@pytest.mark.parametrize(
    ("field", "typed", "value"),
    [
        ("name", "王 小明", "王小明"),
        ("name", "Tom", None),
        ("sex", "Female", "女"),
        ("ethnicity", "回族", "回"),
        ("ethnicity", "火星族", None),
        ("birth", "1990/5/7", "1990-05-07"),
        ("address", "北京", None),
        ("id_number", "110105 19491231 002x", "11010519491231002X"),
        ("id_number", "110105194912310021", None),
    ],
)
def test_normalise_field(field: str, typed: str, value: str | None) -> None:
    assert normalise_field(field, typed) == value  # type: ignore[arg-type]


def test_staff_summary_is_masked() -> None:
    flow = IdCardFlow()
    flow.card(READ, "zh")
    summary = flow.staff_summary()
    assert "110105********002X" in summary
    assert "姓名 张*" in summary
    assert "出生 1949-**-**" in summary
    assert "住址 北京市朝阳区****" in summary
    for secret in ("11010519491231002X", "张伟", "建设路", "1949-12-31"):
        assert secret not in summary


def test_view_lists_the_fields_for_the_screen() -> None:
    flow = IdCardFlow()
    assert flow.view()["fields"] == []
    flow.card(READ, "en")
    fields = flow.view()["fields"]
    assert isinstance(fields, list)
    assert [f["field"] for f in fields] == ["name", "sex", "ethnicity", "birth", "address", "id_number"]


def test_a_good_read_resets_the_failures_and_a_new_card_a_new_form() -> None:
    flow = IdCardFlow()
    assert flow.card(UNREADABLE, "zh").kind == "retry"
    assert flow.card(READ, "zh").kind == "form"
    assert flow.card(UNREADABLE, "zh").kind == "retry"  # one failure since the last good read
    flow.card(READ, "zh")
    assert flow.button("idcard:confirm", "zh") is not None
    assert flow.card(READ, "zh").kind == "form"
    step = flow.button("idcard:confirm", "zh")
    assert step is not None
    assert step.kind == "confirmed"
