"""The accepted-labels reader: JSONL and CSV, every bad row named, unmasked personal data refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.intents import LabelRow, LabelsFileError, read_labels


def test_jsonl_rows_are_read_and_extra_keys_ignored(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(
        '{"text": "我想开通数字人民币钱包", "lang": "zh", "intent": "digital_rmb_wallet", '
        '"kiosk_id": "k1", "status": "accepted"}\n'
        "\n"
        '{"text": "my card [card ****0123] was stolen", "lang": "en", "intent": "card_lost"}\n',
        encoding="utf-8",
    )
    rows = read_labels(path, known=("card_lost", "digital_rmb_wallet"))
    assert rows == [
        LabelRow("我想开通数字人民币钱包", "zh", "digital_rmb_wallet", 1),
        LabelRow("my card [card ****0123] was stolen", "en", "card_lost", 3),
    ]


def test_csv_rows_are_read(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("id,text,lang,intent\n1,how do I open an e-CNY wallet,en,digital_rmb_wallet\n", encoding="utf-8")
    assert read_labels(path) == [LabelRow("how do I open an e-CNY wallet", "en", "digital_rmb_wallet", 2)]


def test_every_bad_row_is_named_and_nothing_is_returned(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"text": "ok", "lang": "en", "intent": "fees"}',
                "not json",
                '{"text": "", "lang": "en", "intent": "fees"}',
                '{"text": "hi", "lang": "fr", "intent": "greeting"}',
                '{"text": "hi", "lang": "en", "intent": "Greeting!"}',
                '{"text": "call me on 13812345678", "lang": "en", "intent": "human_agent"}',
                '{"text": "buy gold", "lang": "en", "intent": "gold_bars"}',
                '"just a string"',
                '{"id": 9, "text": "hi", "lang": "en", "intent": "greeting", "status": "rejected"}',
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(LabelsFileError) as caught:
        read_labels(path, known=("fees", "greeting", "human_agent"))
    assert caught.value.problems == [
        "line 2: not valid JSON: Expecting value",
        "line 3: text is missing or empty",
        "line 4: lang must be one of zh, en, not 'fr'",
        "line 5: intent 'Greeting!' is not a well-formed label",
        "line 6: text holds personal data that is not masked",
        "line 7: intent 'gold_bars' has no entry in the policy",
        "line 8: expected an object with text, lang, intent",
        "line 9: status is 'rejected': only accepted labels are trained on",
    ]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.jsonl", "\n\n", "no labelled rows"),
        ("bad.csv", "text,intent\nhello,greeting\n", r"line 1: header lacks column\(s\) lang"),
        ("latin1.jsonl", b"\xff\xfe", "cannot read"),
    ],
    ids=["empty", "csv-without-lang", "not-utf8"],
)
def test_unreadable_files_are_refused(tmp_path: Path, name: str, content: str | bytes, expected: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(LabelsFileError, match=expected):
        read_labels(path)
