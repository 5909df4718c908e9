"""The sounddevice (PortAudio) drivers on this machine, for real.

CI machines have no sound card: opening a device must fail with a clear
AudioDeviceError, not hang or crash. Where a device exists, a frame is read
and a short clip is played through it.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge_models.audio import Pcm
from hardware.audio import AudioDeviceError, SounddeviceMicrophone, SounddeviceSpeaker


def _has(kind: str) -> bool:
    import sounddevice as sd

    try:
        return any(d[f"max_{kind}_channels"] > 0 for d in sd.query_devices())
    except sd.PortAudioError:
        return False


def test_microphone_reads_a_frame_or_fails_clearly() -> None:
    if not _has("input"):
        with pytest.raises(AudioDeviceError, match="cannot open the microphone"):
            SounddeviceMicrophone()
        return
    mic = SounddeviceMicrophone()
    try:
        frame = mic.read()
        assert frame is not None
        assert frame.dtype == np.int16
        assert len(frame) == mic.frame_samples
    finally:
        mic.close()


def test_speaker_plays_or_fails_clearly() -> None:
    if not _has("output"):
        with pytest.raises(AudioDeviceError, match="cannot open the speaker"):
            SounddeviceSpeaker(rate=22_050)
        return
    speaker = SounddeviceSpeaker(rate=22_050)
    try:
        assert speaker.play(Pcm(np.zeros(2205, np.int16), 22_050))
    finally:
        speaker.close()
