"""The avatar's animation state machine: pure, fed elapsed time.

``Animator`` never reads a clock. The caller feeds ``advance(dt_ms)`` and
events (state, emotion, the customer's face position, a reply to speak with
its viseme timeline and the audio playback position) and reads a ``Pose``:
everything the renderer needs to draw one frame.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from enum import StrEnum

from avatar.lipsync import MouthShape, MouthTrack
from edge_models.speech import Viseme, VisemeTimeline


class AvatarState(StrEnum):
    """What the digital human is doing."""

    IDLE = "idle"
    ATTENTIVE = "attentive"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"


EMOTIONS = ("neutral", "warm", "concerned", "apologetic", "happy")


@dataclass(frozen=True, slots=True)
class Expression:
    """Face parameters of an emotion; the animator eases between them."""

    smile: float = 0.3
    brow_raise: float = 0.0
    brow_inner: float = 0.0
    squint: float = 0.0
    head_tilt: float = 0.0
    head_down: float = 0.0

    def lerp(self, other: Expression, k: float) -> Expression:
        """The expression ``k`` of the way to ``other``."""
        return Expression(
            *(a + (b - a) * k for a, b in zip(_fields(self), _fields(other), strict=True)),
        )


def _fields(e: Expression) -> tuple[float, ...]:
    return (e.smile, e.brow_raise, e.brow_inner, e.squint, e.head_tilt, e.head_down)


EXPRESSIONS: dict[str, Expression] = {
    "neutral": Expression(smile=0.3),
    "warm": Expression(smile=0.65, brow_raise=0.25, squint=0.25, head_tilt=0.3),
    "happy": Expression(smile=0.95, brow_raise=0.35, squint=0.45, head_tilt=0.15),
    "concerned": Expression(smile=-0.15, brow_raise=0.15, brow_inner=0.8, head_down=0.2),
    "apologetic": Expression(smile=0.05, brow_inner=0.6, squint=0.1, head_tilt=-0.4, head_down=0.5),
}
# Small changes on top of the emotion per state.
STATE_OFFSETS: dict[AvatarState, Expression] = {
    AvatarState.IDLE: Expression(smile=0.0),
    AvatarState.ATTENTIVE: Expression(smile=0.15, brow_raise=0.25),
    AvatarState.LISTENING: Expression(smile=0.05, brow_raise=0.2, head_tilt=0.35),
    AvatarState.THINKING: Expression(smile=-0.1, brow_raise=0.1, brow_inner=0.25, head_tilt=-0.2),
    AvatarState.SPEAKING: Expression(smile=0.0),
}


def _add(a: Expression, b: Expression) -> Expression:
    return Expression(*(x + y for x, y in zip(_fields(a), _fields(b), strict=True)))


@dataclass(frozen=True, slots=True)
class Pose:
    """Everything needed to draw one frame, in normalised units.

    Head and gaze offsets are in -1..1 of their range; ``eye_open`` 0 is closed.
    """

    state: AvatarState
    emotion: str
    expression: Expression
    mouth: MouthShape
    viseme: Viseme
    eye_open: float
    gaze_x: float
    gaze_y: float
    head_x: float
    head_y: float
    breath: float
    speech_ms: float | None


@dataclass(frozen=True, slots=True)
class AnimatorConfig:
    """Timing of the animation, in milliseconds."""

    blink_min_ms: float = 2200.0
    blink_max_ms: float = 6500.0
    blink_ms: float = 160.0
    double_blink_chance: float = 0.15
    breath_period_ms: float = 4200.0
    expression_ease_ms: float = 350.0
    gaze_ease_ms: float = 180.0
    idle_glance_ms: float = 3500.0


class Animator:
    """The avatar's state machine; call ``advance`` once per frame."""

    def __init__(self, config: AnimatorConfig | None = None, seed: int = 0) -> None:
        """Start idle, neutral, eyes open, looking ahead."""
        self.config = config or AnimatorConfig()
        self._rng = random.Random(seed)
        self.state = AvatarState.IDLE
        self.emotion = "neutral"
        self.t_ms = 0.0
        self._expr = EXPRESSIONS["neutral"]
        self._expr_from = self._expr
        self._expr_k = 1.0
        self._next_blink = self._blink_gap()
        self._blink_t: float | None = None
        self._gaze = (0.0, 0.0)
        self._gaze_target: tuple[float, float] | None = None
        self._glance = (0.0, 0.0)
        self._next_glance = self.config.idle_glance_ms
        self._track: MouthTrack | None = None
        self._speech_ms: float | None = None
        self._after_speech = AvatarState.ATTENTIVE

    # -- events ---------------------------------------------------------
    def set_state(self, state: AvatarState) -> None:
        """Go to ``state``; the face eases into it."""
        if state != self.state:
            self._start_ease()
            self.state = state
            if state != AvatarState.SPEAKING:
                self._track = None
                self._speech_ms = None

    def set_emotion(self, emotion: str) -> None:
        """Show ``emotion`` (a decision's emotion); unknown names are neutral."""
        emotion = emotion if emotion in EXPRESSIONS else "neutral"
        if emotion != self.emotion:
            self._start_ease()
            self.emotion = emotion

    def look_at(self, target: tuple[float, float] | None) -> None:
        """Follow a face at ``target`` (x, y in 0..1 of the camera image), or nobody."""
        if target is None:
            self._gaze_target = None
            return
        x, y = target
        # The camera looks at the customer: their left is the image's right.
        self._gaze_target = (max(-1.0, min(1.0, (0.5 - x) * 2.2)), max(-1.0, min(1.0, (y - 0.45) * 2.0)))

    def speak(self, timeline: VisemeTimeline, emotion: str | None = None) -> None:
        """Start speaking a reply; ``playback(ms)`` then follows the audio clock."""
        if emotion is not None:
            self.set_emotion(emotion)
        self.set_state(AvatarState.SPEAKING)
        self._track = MouthTrack(timeline)
        self._speech_ms = 0.0

    def playback(self, position_ms: float) -> None:
        """The audio playback position of the reply being spoken."""
        if self._track is not None:
            self._speech_ms = max(0.0, position_ms)

    @property
    def track(self) -> MouthTrack | None:
        """The mouth track being spoken, if any."""
        return self._track

    # -- time -----------------------------------------------------------
    def advance(self, dt_ms: float) -> Pose:
        """Move time on by ``dt_ms`` and return the pose to draw.

        Raises:
            ValueError: If ``dt_ms`` is negative or not finite.
        """
        if dt_ms < 0 or not math.isfinite(dt_ms):
            raise ValueError(f"elapsed time must be a finite non-negative number, got {dt_ms}")
        cfg = self.config
        self.t_ms += dt_ms
        t = self.t_ms
        self._expr_k = min(1.0, self._expr_k + dt_ms / cfg.expression_ease_ms)
        target = _add(EXPRESSIONS[self.emotion], STATE_OFFSETS[self.state])
        expr = self._expr_from.lerp(target, _ease(self._expr_k))
        self._expr = expr

        eye_open = self._blink(dt_ms)
        gaze = self._update_gaze(dt_ms)

        mouth = MouthShape()
        viseme: Viseme = "X"
        if self._track is not None and self._speech_ms is not None:
            if self._speech_ms >= self._track.duration_ms:
                self.set_state(self._after_speech)
            else:
                mouth = self._track.shape_at(self._speech_ms)
                viseme = self._track.viseme_at(self._speech_ms)
        breath = math.sin(2 * math.pi * t / cfg.breath_period_ms)
        head_x = 0.35 * math.sin(2 * math.pi * t / 7300.0) + 0.15 * math.sin(2 * math.pi * t / 2900.0)
        head_y = 0.25 * math.sin(2 * math.pi * t / 5100.0 + 1.0)
        if self.state == AvatarState.SPEAKING:
            head_y += 0.35 * mouth.open
        return Pose(
            state=self.state,
            emotion=self.emotion,
            expression=expr,
            mouth=mouth,
            viseme=viseme,
            eye_open=eye_open * (1.0 - 0.35 * max(0.0, expr.squint)),
            gaze_x=gaze[0],
            gaze_y=gaze[1],
            head_x=head_x,
            head_y=head_y,
            breath=breath,
            speech_ms=self._speech_ms,
        )

    # -- internals --------------------------------------------------------
    def _start_ease(self) -> None:
        self._expr_from = self._expr
        self._expr_k = 0.0

    def _blink_gap(self) -> float:
        return self._rng.uniform(self.config.blink_min_ms, self.config.blink_max_ms)

    def _blink(self, dt_ms: float) -> float:
        cfg = self.config
        if self._blink_t is None:
            self._next_blink -= dt_ms
            if self._next_blink > 0:
                return 1.0
            self._blink_t = -self._next_blink
        else:
            self._blink_t += dt_ms
        phase = self._blink_t / cfg.blink_ms
        if phase >= 1.0:
            self._blink_t = None
            double = self._rng.random() < cfg.double_blink_chance
            self._next_blink = 220.0 if double else self._blink_gap()
            return 1.0
        # Close fast (40%), open slower (60%).
        return 1.0 - (phase / 0.4 if phase < 0.4 else 1.0 - (phase - 0.4) / 0.6)

    def blink_now(self) -> None:
        """Start a blink on the next ``advance`` (after a state change, like people do)."""
        if self._blink_t is None:
            self._next_blink = 0.0

    def _update_gaze(self, dt_ms: float) -> tuple[float, float]:
        cfg = self.config
        if self._gaze_target is not None:
            target = self._gaze_target
        elif self.state == AvatarState.THINKING:
            target = (0.45, -0.55)
        else:
            self._next_glance -= dt_ms
            if self._next_glance <= 0:
                self._glance = (self._rng.uniform(-0.35, 0.35), self._rng.uniform(-0.15, 0.2))
                if self._rng.random() < 0.5:
                    self._glance = (0.0, 0.0)
                self._next_glance = self._rng.uniform(0.6, 1.4) * cfg.idle_glance_ms
            target = self._glance
        k = 1.0 - math.exp(-dt_ms / cfg.gaze_ease_ms)
        gx, gy = self._gaze
        self._gaze = (gx + (target[0] - gx) * k, gy + (target[1] - gy) * k)
        return self._gaze


def _ease(k: float) -> float:
    """Ease in-out (smoothstep) of ``k`` in 0..1."""
    k = max(0.0, min(1.0, k))
    return k * k * (3 - 2 * k)


def with_eyes(pose: Pose, eye_open: float) -> Pose:
    """``pose`` with the eyes ``eye_open`` (for stills and tests)."""
    return replace(pose, eye_open=eye_open)
