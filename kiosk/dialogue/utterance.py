"""What the customer said or tapped, as the dialogue engine receives it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["text", "voice", "button"]


@dataclass(frozen=True, slots=True)
class Utterance:
    """One customer input.

    Attributes:
        text: What was typed or recognised (empty for a button press).
        source: ``text`` (touch keyboard), ``voice`` (ASR) or ``button``.
        lang: Language hint from the device (ASR model language), if any. On a button
            press it is set only when the press was spoken (a closed-vocabulary match):
            the language heard, which the reply then follows.
        asr_confidence: Recogniser confidence in [0, 1] for voice input.
        button: The id of a tapped button, for ``source == "button"``.
    """

    text: str = ""
    source: Source = "text"
    lang: str | None = None
    asr_confidence: float | None = None
    button: str | None = None
