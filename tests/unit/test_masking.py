"""mask_pii: personal data is masked before storage; amounts, dates, times and codes are left alone."""

from __future__ import annotations

import re

import pytest

from kiosk.privacy import luhn_valid, mask_pii, resident_id_valid

# GB 11643 weights and check characters, written out here so the tests do not trust masking.py's copy.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def luhn_number(payload: str) -> str:
    """``payload`` with its Luhn check digit appended."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return payload + str((10 - total % 10) % 10)


def resident_id(first17: str) -> str:
    """An 18-character resident ID: ``first17`` plus its check character."""
    total = sum(int(ch) * w for ch, w in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def digits_of(text: str) -> str:
    return re.sub(r"\D", "", text)


CARD_16 = luhn_number("622202123456789")
CARD_19 = luhn_number("622202123456789012")
ID_18 = "11010519491231002X"
ID_LEAP_DAY = resident_id("44030420000229461")


def test_helpers_agree_with_known_numbers() -> None:
    assert luhn_number("411111111111111") == "4111111111111111"
    assert resident_id("11010519491231002") == ID_18
    assert len(CARD_16) == 16
    assert len(CARD_19) == 19


@pytest.mark.parametrize(
    ("text", "last4"),
    [
        pytest.param("4111111111111111", "1111", id="visa-16"),
        pytest.param(CARD_16, CARD_16[-4:], id="unionpay-16-computed"),
        pytest.param(CARD_19, CARD_19[-4:], id="unionpay-19-computed"),
        pytest.param("4111 1111 1111 1111", "1111", id="spaced-16"),
        pytest.param("4111-1111-1111-1111", "1111", id="dashed-16"),
        pytest.param(" ".join(re.findall(r".{1,4}", CARD_19)), CARD_19[-4:], id="spaced-19"),
        pytest.param("4222222222222", "2222", id="luhn-13"),
        pytest.param("378282246310005", "0005", id="amex-15"),
    ],
)
def test_card_numbers_are_masked(text: str, last4: str) -> None:
    out = mask_pii(text)
    assert out == f"[card ****{last4}]"
    assert digits_of(out) == last4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(f"卡号{CARD_16}丢了", f"卡号[card ****{CARD_16[-4:]}]丢了", id="zh-16"),
        pytest.param(f"我的卡号是{CARD_19}，丢了", f"我的卡号是[card ****{CARD_19[-4:]}]，丢了", id="zh-19"),
        pytest.param("My card 4111 1111 1111 1111 was lost.", "My card [card ****1111] was lost.", id="en-spaced"),
        pytest.param(f"转账 10000 元到 {CARD_16}", f"转账 10000 元到 [card ****{CARD_16[-4:]}]", id="amount-kept"),
    ],
)
def test_card_numbers_inside_text(text: str, expected: str) -> None:
    out = mask_pii(text)
    assert out == expected
    assert CARD_16 not in digits_of(out)
    assert CARD_19 not in digits_of(out)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("10000", id="amount"),
        pytest.param("1,000,000", id="amount-commas"),
        pytest.param("存 10000 元", id="amount-in-zh"),
        pytest.param("2024-01-15", id="date"),
        pytest.param("10:30", id="time"),
        pytest.param("2024-01-15 10:30", id="date-time"),
        pytest.param("A012", id="ticket"),
        pytest.param("取号 A012，验证码 123456", id="ticket-and-6-digit-code"),
        pytest.param("123456", id="6-digit-code"),
        pytest.param("202401150001", id="12-digit-order"),
        pytest.param("my order 202401150001 is late", id="order-in-text"),
        pytest.param("4222222222223", id="13-digit-not-luhn"),
        pytest.param("12345678901", id="11-digit-starting-12"),
        pytest.param("1381234567", id="10-digit"),
        pytest.param("4008123456", id="10-digit-hotline"),
        pytest.param("我是外国人", id="zh-foreigner"),
        pytest.param("我是一个学生", id="zh-student"),
        pytest.param("我是来取钱的", id="zh-came-for-cash"),
        pytest.param("I want to open an account", id="en-plain"),
    ],
)
def test_non_personal_text_is_unchanged(text: str) -> None:
    assert mask_pii(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(ID_18, "[id]", id="18-with-X"),
        pytest.param(ID_18.lower(), "[id]", id="18-with-lower-x"),
        pytest.param(ID_LEAP_DAY, "[id]", id="18-leap-day"),
        pytest.param("110105491231002", "[id]", id="15-old-form"),
        pytest.param(f"身份证号{ID_18}。", "身份证号[id]。", id="in-zh-text"),
    ],
)
def test_resident_ids_are_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        pytest.param(ID_18, True, id="valid-X"),
        pytest.param(ID_18.lower(), True, id="valid-lower-x"),
        pytest.param(ID_LEAP_DAY, True, id="valid-leap-day"),
        pytest.param(ID_18[:-1] + "1", False, id="bad-check-digit"),
        pytest.param(resident_id("11010519491331002"), False, id="month-13"),
        pytest.param(resident_id("11010519490230002"), False, id="feb-30"),
        pytest.param(resident_id("11010519010229002"), False, id="feb-29-not-leap"),
        pytest.param(resident_id("11010518991231002"), False, id="year-1899"),
        pytest.param(ID_18[:-1], False, id="17-chars"),
        pytest.param(ID_18 + "1", False, id="19-chars"),
        pytest.param("110105491231002", False, id="15-digit-old-form"),
        pytest.param("1101051949123100AX", False, id="letters"),
        pytest.param("", False, id="empty"),
    ],
)
def test_resident_id_valid(value: str, valid: bool) -> None:
    assert resident_id_valid(value) is valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("13812345678", "[phone ****5678]", id="mobile"),
        pytest.param("+86 138 1234 5678", "[phone ****5678]", id="plus86-spaced"),
        pytest.param("+8613812345678", "[phone ****5678]", id="plus86-compact"),
        pytest.param("0086 13812345678", "[phone ****5678]", id="0086"),
        pytest.param("138-1234-5678", "[phone ****5678]", id="dashed"),
        pytest.param("手机13912345678。", "手机[phone ****5678]。", id="in-zh-text"),
        pytest.param("010-12345678", "[phone]", id="landline-beijing"),
        pytest.param("0755-12345678", "[phone]", id="landline-4-digit-area"),
        pytest.param("Call 13812345678 or 010-12345678", "Call [phone ****5678] or [phone]", id="both"),
    ],
)
def test_phone_numbers_are_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("zhang.san@example.com", "[email]", id="email"),
        pytest.param("Mail a.b+kiosk@bank.com.cn please", "Mail [email] please", id="email-in-text"),
        pytest.param("13812345678@qq.com", "[email]", id="email-with-digits"),
        pytest.param("E12345678", "[passport]", id="passport"),
        pytest.param("护照号 G12345678", "护照号 [passport]", id="passport-in-zh"),
        pytest.param("我叫张三", "我叫[name]", id="zh-wo-jiao"),
        pytest.param("我是王芳。", "我是[name]。", id="zh-wo-shi"),
        pytest.param("姓名：王小明", "姓名：[name]", id="zh-form-field"),
        pytest.param("我叫张三，电话13812345678", "我叫[name]，电话[phone ****5678]", id="zh-name-and-phone"),
        pytest.param("My name is John Smith", "My name is [name]", id="en-name"),
    ],
)
def test_other_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


# A space between two numbers must not merge them into one digit run that is then judged as a whole
# (the card or phone would be left unmasked, or a date swallowed).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(f"转账到{CARD_16} 10000元", f"转账到[card ****{CARD_16[-4:]}] 10000元", id="card-then-amount"),
        pytest.param("13812345678 13912345678", "[phone ****5678] [phone ****5678]", id="two-mobiles"),
        pytest.param("13812345678 10:30", "[phone ****5678] 10:30", id="mobile-then-time"),
        pytest.param("2024-01-15 13812345678", "2024-01-15 [phone ****5678]", id="date-then-mobile"),
    ],
)
def test_numbers_separated_by_a_space_are_judged_separately(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


IDEMPOTENCE_EXAMPLES = [
    "4111 1111 1111 1111",
    f"卡号{CARD_16}丢了",
    CARD_19,
    ID_18,
    "110105491231002",
    "+86 138 1234 5678",
    "010-12345678",
    "zhang.san@example.com",
    "护照号 E12345678",
    "我叫张三，电话13812345678",
    "我是王芳。",
    "My name is John Smith",
    "2024-01-15 10:30 A012 10000",
]


@pytest.mark.parametrize("text", IDEMPOTENCE_EXAMPLES, ids=lambda s: s[:12])
def test_masking_is_idempotent(text: str) -> None:
    once = mask_pii(text)
    assert mask_pii(once) == once


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1" * 10_000, id="10k-digits"),
        pytest.param("a" * 10_000, id="10k-letters"),
        pytest.param("1-" * 5_000, id="10k-digit-dash"),
        pytest.param("x" * 5_000 + "@" + "y" * 5_000, id="10k-email-like"),
        pytest.param("我叫" * 5_000, id="10k-name-prefixes"),
        pytest.param("".join(chr(i) for i in range(32)) * 300, id="control-chars"),
        pytest.param("'; DROP TABLE turns; -- SELECT * FROM sessions WHERE 1=1", id="sql"),
    ],
)
def test_hostile_input_does_not_raise(text: str) -> None:
    out = mask_pii(text)
    assert isinstance(out, str)
    assert mask_pii(out) == out


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        pytest.param("4111111111111111", True, id="visa"),
        pytest.param("378282246310005", True, id="amex"),
        pytest.param("79927398713", True, id="textbook"),
        pytest.param(CARD_16, True, id="computed-16"),
        pytest.param(CARD_19, True, id="computed-19"),
        pytest.param("4111111111111112", False, id="visa-last-digit-off"),
        pytest.param("79927398710", False, id="textbook-wrong-check"),
        pytest.param("1234567812345678", False, id="sequence"),
        pytest.param("4222222222223", False, id="13-digit-kept-unmasked-above"),
        pytest.param(CARD_16[:-1] + str((int(CARD_16[-1]) + 1) % 10), False, id="computed-16-off-by-one"),
    ],
)
def test_luhn_valid(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "My name is John Smith and I lost my card.", "My name is [name] and I lost my card.", id="en-name-stops"
        ),
        pytest.param("my name is john and i lost my card", "my name is [name] and i lost my card", id="en-lowercase"),
        pytest.param("my name is not important", "my name is not important", id="en-not-a-name"),
        pytest.param("card4111111111111111", "card[card ****1111]", id="card-after-letters"),
        pytest.param("4111  1111  1111  1111", "[card ****1111]", id="double-spaces"),
    ],
)
def test_reported_gaps_are_closed(text: str, expected: str) -> None:
    assert mask_pii(text) == expected
