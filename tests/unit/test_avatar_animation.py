"""The avatar's state machine, fed elapsed time."""

from __future__ import annotations

import itertools

import pytest

from avatar.animation import EXPRESSIONS, Animator, AnimatorConfig, AvatarState
from avatar.lipsync import timeline_from_text

FRAME = 1000 / 30


def run(animator: Animator, ms: float, step: float = FRAME) -> list[float]:
    eyes = []
    t = 0.0
    while t < ms:
        eyes.append(animator.advance(step).eye_open)
        t += step
    return eyes


def test_blinks_at_natural_intervals() -> None:
    animator = Animator(seed=1)
    eyes = run(animator, 60_000, step=10)
    closings = sum(1 for a, b in itertools.pairwise(eyes) if a >= 0.5 > b)
    # About one blink every 2-6.5 s (plus a few double blinks).
    assert 8 <= closings <= 30
    assert min(eyes) < 0.1


def test_blink_intervals_differ() -> None:
    animator = Animator(seed=2)
    times = []
    t = 0.0
    prev = 1.0
    while t < 40_000:
        eye = animator.advance(10).eye_open
        if prev >= 0.5 > eye:
            times.append(t)
        prev = eye
        t += 10
    gaps = {round(b - a, -2) for a, b in itertools.pairwise(times)}
    assert len(gaps) > 3


def test_expression_changes_are_eased() -> None:
    animator = Animator(config=AnimatorConfig(expression_ease_ms=350))
    animator.advance(FRAME)
    animator.set_emotion("happy")
    smiles = [animator.advance(FRAME).expression.smile for _ in range(20)]
    steps = [b - a for a, b in itertools.pairwise(smiles)]
    assert all(s >= -1e-9 for s in steps)
    assert max(steps) < 0.25
    assert smiles[-1] == pytest.approx(EXPRESSIONS["happy"].smile)


@pytest.mark.parametrize(
    ("emotion", "field", "sign"),
    [("warm", "smile", 1), ("happy", "smile", 1), ("concerned", "brow_inner", 1), ("apologetic", "head_down", 1)],
    ids=["warm", "happy", "concerned", "apologetic"],
)
def test_emotions_move_the_face(emotion: str, field: str, sign: int) -> None:
    animator = Animator()
    neutral = animator.advance(1000).expression
    animator.set_emotion(emotion)
    shown = animator.advance(1000).expression
    assert (getattr(shown, field) - getattr(neutral, field)) * sign > 0.1


def test_unknown_emotion_is_neutral() -> None:
    animator = Animator()
    animator.set_emotion("furious")
    assert animator.advance(10).emotion == "neutral"


def test_speaking_follows_the_audio_clock_then_returns_to_attentive() -> None:
    animator = Animator()
    tl = timeline_from_text("Hello there", "en")
    animator.speak(tl, emotion="warm")
    opens = []
    for n in range(int(tl.duration_ms / FRAME)):
        animator.playback(n * FRAME)
        pose = animator.advance(FRAME)
        assert pose.state is AvatarState.SPEAKING
        opens.append(pose.mouth.open)
    assert max(opens) > 0.4
    assert min(opens) < 0.05
    animator.playback(tl.duration_ms + 1)
    assert animator.advance(FRAME).state is AvatarState.ATTENTIVE
    assert animator.advance(FRAME).mouth.open == 0


def test_gaze_follows_the_customer() -> None:
    animator = Animator()
    animator.look_at((0.2, 0.45))  # customer on the image's left: the avatar's right
    pose = None
    for _ in range(30):
        pose = animator.advance(FRAME)
    assert pose is not None
    assert pose.gaze_x > 0.5
    animator.look_at((0.8, 0.45))
    for _ in range(30):
        pose = animator.advance(FRAME)
    assert pose.gaze_x < -0.5


def test_thinking_looks_up() -> None:
    animator = Animator()
    animator.set_state(AvatarState.THINKING)
    pose = None
    for _ in range(40):
        pose = animator.advance(FRAME)
    assert pose is not None
    assert pose.gaze_y < -0.3


@pytest.mark.parametrize("dt", [-1.0, float("inf")], ids=["negative", "infinite"])
def test_bad_elapsed_time_is_rejected(dt: float) -> None:
    with pytest.raises(ValueError, match="elapsed"):
        Animator().advance(dt)


def test_same_seed_same_animation() -> None:
    assert run(Animator(seed=5), 10_000) == run(Animator(seed=5), 10_000)
