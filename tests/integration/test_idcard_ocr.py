"""The real OCR models (RapidOCR PP-OCRv4 on onnxruntime) on generated sample cards."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from edge_models.build.id_cards import camera_view, random_person
from edge_models.vision.ocr import OcrError, TextReader
from kiosk.idcard import IdCardRead, IdCardUnreadable, parse_front


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader()


@pytest.mark.parametrize("degradation", [None, "rotation", "low_light"], ids=["clean", "rotation", "low-light"])
def test_reads_a_generated_card(reader: TextReader, degradation: str | None) -> None:
    rng = random.Random(11)
    person = random_person(rng)
    rgb = np.asarray(camera_view(person, degradation, rng), dtype=np.uint8)
    result = parse_front(reader.read(rgb), today=date(2026, 12, 1))
    assert isinstance(result, IdCardRead), result
    f = result.fields
    assert (f.name, f.sex, f.ethnicity, f.birth) == (person.name, person.sex, person.ethnicity, person.birth)
    assert (f.address, f.id_number) == (person.address, person.id_number)


def test_blank_image_is_unreadable(reader: TextReader) -> None:
    blank = np.full((400, 600, 3), 200, dtype=np.uint8)
    result = parse_front(reader.read(blank))
    assert isinstance(result, IdCardUnreadable)
    assert "id_number" in result.failed


def test_not_an_image(reader: TextReader) -> None:
    with pytest.raises(OcrError):
        reader.read(np.zeros((10, 10), dtype=np.uint8))
