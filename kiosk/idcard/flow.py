"""Account opening with the ID card: the pre-filled form, confirmation and corrections (pure, no I/O).

The customer holds the card to the camera; :func:`kiosk.idcard.parse_front`
reads it; :class:`IdCardFlow` turns each result, button and typed correction
into a :class:`FlowStep` (what to say, which buttons, what the form shows,
and whether staff get the form now). A card that cannot be read gets one
clear request to retry, then staff. The form kept for staff is masked
(:meth:`IdCardFlow.staff_summary`): the ID number as ``110101********123X``,
the name as its surname, the birth date as its year, the address to its
district; staff check the card itself at the counter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from kiosk.idcard import (
    ETHNIC_GROUPS,
    FIELDS,
    FieldName,
    IdCardRead,
    IdCardResult,
    id_number_problem,
    mask_id_number,
)

Lang = Literal["zh", "en"]
StepKind = Literal["form", "retry", "edit", "invalid", "confirmed", "staff"]
LABELS: dict[FieldName, tuple[str, str]] = {
    "name": ("姓名", "Name"),
    "sex": ("性别", "Sex"),
    "ethnicity": ("民族", "Ethnicity"),
    "birth": ("出生日期", "Date of birth"),
    "address": ("住址", "Address"),
    "id_number": ("公民身份号码", "ID number"),
}
_FIX_ORDER: tuple[FieldName, ...] = ("name", "address", "id_number", "birth", "sex", "ethnicity")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_NAME = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff·]{0,14}")
_SEX = {"男": "男", "女": "女", "male": "男", "female": "女", "m": "男", "f": "女"}
_DISTRICT = re.compile(r"^.*?(?:区|县|市(?!.*[区县]))")


@dataclass(frozen=True, slots=True)
class FlowStep:
    """What the kiosk does after one input of the ID card flow."""

    kind: StepKind
    reply: str
    buttons: tuple[tuple[str, str], ...] = ()
    handoff_reason: str | None = None


def _t(lang: Lang, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def normalise_field(name: FieldName, value: str) -> str | None:
    """The customer's correction in the form's terms, or ``None`` when it is not a valid value."""
    value = value.strip()
    if name == "name":
        value = re.sub(r"\s+", "", value)
        return value if _NAME.fullmatch(value) else None
    if name == "sex":
        return _SEX.get(value.lower())
    if name == "ethnicity":
        value = value.removesuffix("族")
        return value if value in ETHNIC_GROUPS else None
    if name == "birth":
        m = _DATE.fullmatch(value)
        if not m:
            return None
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            return None
    if name == "address":
        value = re.sub(r"\s+", "", value)
        return value if 6 <= len(value) <= 80 else None
    value = re.sub(r"[\s-]", "", value).upper()
    return value if id_number_problem(value) is None else None


def form_problems(form: dict[FieldName, str]) -> list[str]:
    """Where the fields disagree with each other (the ID number holds the birth date and sex)."""
    number = form.get("id_number", "")
    if id_number_problem(number) is not None:
        return ["id_number"]
    out = []
    if form.get("birth") != f"{number[6:10]}-{number[10:12]}-{number[12:14]}":
        out.append("birth")
    if (int(number[16]) % 2 == 1) != (form.get("sex") == "男"):
        out.append("sex")
    return out


@dataclass
class IdCardFlow:
    """One customer's ID card form, from the first read to the hand-off."""

    max_failures: int = 2
    reads: int = 0
    failures: int = 0
    form: dict[FieldName, str] = field(default_factory=dict)
    corrected: set[FieldName] = field(default_factory=set)
    editing: FieldName | None = None
    done: bool = False

    def _form_buttons(self, lang: Lang) -> tuple[tuple[str, str], ...]:
        confirm = ("idcard:confirm", _t(lang, "确认无误", "All correct"))
        fix = [(f"idcard:fix:{f}", _t(lang, f"改{LABELS[f][0]}", f"Fix {LABELS[f][1].lower()}")) for f in _FIX_ORDER]
        # The avatar screen shows the first six: the fields OCR gets wrong most come first.
        return (confirm, *fix[:4], ("idcard:rescan", _t(lang, "重新扫描", "Scan again")), *fix[4:])

    def card(self, result: IdCardResult, lang: Lang) -> FlowStep:
        """The OCR read a card (or failed to)."""
        self.reads += 1
        self.editing = None
        if isinstance(result, IdCardRead):
            self.failures = 0
            self.done = False  # a new card: a new form to confirm
            fields = result.fields
            self.form = {f: str(getattr(fields, f)) for f in FIELDS}
            self.corrected = set()
            reply = _t(
                lang,
                "已读取您的身份证，开户申请表已填好。请在屏幕上核对，无误请点“确认无误”，有误请点要修改的项目。",
                "Your ID card is read and the account-opening form is filled in. Please check it on the "
                "screen: tap 'All correct', or the item to fix.",
            )
            return FlowStep("form", reply, self._form_buttons(lang))
        missing = "、".join(LABELS[f][0] for f in result.failed)
        missing_en = ", ".join(LABELS[f][1].lower() for f in result.failed)
        self.failures += 1
        if self.failures >= self.max_failures:
            reply = _t(
                lang,
                f"抱歉，还是没能读清您的身份证（{missing}）。已为您呼叫工作人员，请稍候。",
                f"Sorry, I still cannot read your ID card ({missing_en}). A staff member is coming to help you.",
            )
            return FlowStep("staff", reply, (), f"account opening: ID card unreadable ({', '.join(result.failed)})")
        reply = _t(
            lang,
            f"抱歉，没能读清您的身份证（{missing}）。请把身份证正面朝向摄像头，放平、避开反光，再试一次。",
            f"Sorry, I could not read your ID card ({missing_en}). Please hold the front of the card flat "
            "to the camera, away from glare, and try again.",
        )
        buttons = (
            ("idcard:rescan", _t(lang, "再扫一次", "Scan again")),
            ("staff:call", _t(lang, "找工作人员", "Staff")),
        )
        return FlowStep("retry", reply, buttons)

    def button(self, button_id: str, lang: Lang) -> FlowStep | None:
        """A tapped ``idcard:`` button; ``None`` when it is not for the form (e.g. ``idcard:rescan``)."""
        if self.done or not self.form:
            return None
        if button_id == "idcard:confirm":
            problems = form_problems(self.form)
            if problems:
                what = "、".join(LABELS[p][0] for p in problems)  # type: ignore[index]
                what_en = ", ".join(LABELS[p][1].lower() for p in problems)  # type: ignore[index]
                reply = _t(
                    lang,
                    f"{what}与身份证号码不一致，请修改后再确认。",
                    f"The {what_en} does not match the ID number; please fix it, then confirm.",
                )
                return FlowStep("invalid", reply, self._form_buttons(lang))
            self.done = True
            reply = _t(
                lang,
                "谢谢，开户申请表已交给工作人员。请稍候，工作人员会核对您的身份证原件并为您办理开户。",
                "Thank you. The form has gone to a staff member, who will check your ID card and open the account.",
            )
            return FlowStep("confirmed", reply, (), "account opening: ID card form confirmed by the customer")
        if button_id.startswith("idcard:fix:") and button_id[11:] in FIELDS:
            name: FieldName = button_id[11:]  # type: ignore[assignment]
            self.editing = name
            zh, en = LABELS[name]
            reply = _t(lang, f"请输入正确的{zh}。", f"Please type the correct {en.lower()}.")
            return FlowStep("edit", reply, (("idcard:cancel", _t(lang, "取消", "Cancel")),))
        if button_id == "idcard:cancel":
            self.editing = None
            return FlowStep(
                "form", _t(lang, "好的，请继续核对。", "All right, please go on checking."), self._form_buttons(lang)
            )
        return None

    def correction(self, text: str, lang: Lang) -> FlowStep:
        """The customer typed the value of the field being corrected.

        Raises:
            ValueError: If no field is being corrected.
        """
        name = self.editing
        if name is None:
            raise ValueError("no field is being corrected")
        value = normalise_field(name, text)
        zh, en = LABELS[name]
        if value is None:
            reply = _t(
                lang,
                f"这个{zh}看起来不对，请再输入一次。",
                f"That {en.lower()} does not look right; please type it again.",
            )
            return FlowStep("edit", reply, (("idcard:cancel", _t(lang, "取消", "Cancel")),))
        self.form[name] = value
        self.corrected.add(name)
        self.editing = None
        reply = _t(lang, f"{zh}已修改，请继续核对。", f"{en} changed; please go on checking.")
        return FlowStep("form", reply, self._form_buttons(lang))

    def staff_summary(self) -> str:
        """The form for staff, masked as it is stored (see the module's docstring)."""
        f = self.form
        if not f:
            return "开户申请表 Account-opening form: 身份证未能读取 ID card not read"
        name = f.get("name", "")
        address = f.get("address", "")
        district = m.group(0) if (m := _DISTRICT.match(address)) else address[:6]
        parts = [
            f"姓名 {name[:1]}{'*' * max(0, len(name) - 1)}",
            f"性别 {f.get('sex', '')}",
            f"民族 {f.get('ethnicity', '')}",
            f"出生 {f.get('birth', '')[:4]}-**-**",
            f"住址 {district}****",
            f"证号 {mask_id_number(f.get('id_number', ''))}",
        ]
        fixed = ", ".join(LABELS[c][1].lower() for c in FIELDS if c in self.corrected) or "none"
        return f"开户申请表 Account-opening form (ID card, confirmed on screen; corrected: {fixed}): " + " | ".join(
            parts
        )

    def view(self, *, masked: bool = False) -> dict[str, object]:
        """What the kiosk's screen shows of the form (the customer's own data, this session only).

        ``masked`` shows the ID number as ``110101********123X``.
        """
        shown = dict(self.form)
        if masked and "id_number" in shown:
            shown["id_number"] = mask_id_number(shown["id_number"])
        return {
            "fields": [
                {
                    "field": f,
                    "label_zh": LABELS[f][0],
                    "label_en": LABELS[f][1],
                    "value": shown.get(f, ""),
                    "corrected": f in self.corrected,
                }
                for f in FIELDS
            ]
            if self.form
            else [],
            "editing": self.editing,
            "done": self.done,
            "reads": self.reads,
        }
