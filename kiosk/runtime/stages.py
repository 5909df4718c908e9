"""The runtime's shared state and its stages: each runs off the event loop within its time budget.

A stage that fails or is late raises :class:`RuntimeStageError`; the turn goes on without it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

from kiosk.privacy import mask_pii
from kiosk.runtime.config import RuntimeConfig
from kiosk.runtime.presence import PresenceTracker
from kiosk.runtime.record import KioskStep, TurnRecord
from kiosk.runtime.supervisor import Supervisor

if TYPE_CHECKING:
    from edge_models.asr import AsrEngine
    from edge_models.tts import Synthesizer
    from edge_models.vision import FaceDetector
    from kiosk.conversation import Conversations
    from kiosk.dialogue import Decision
    from kiosk.runtime.devices import Devices
    from kiosk.runtime.idcard import IdCardDesk
    from kiosk.runtime.rating import RatingOffer
    from kiosk.runtime.screen import LiveScreen


_LOG = logging.getLogger(__name__)
T = TypeVar("T")
Lang = Literal["zh", "en"]


StageOutcome = Literal["ok", "late", "failed", "cancelled"]


class RuntimeStageError(Exception):
    """A stage of a turn failed or ran past its budget (the turn goes on without it)."""


@dataclass(frozen=True, slots=True)
class StageStarted:
    """A stage (asr, dialogue, tts, print, presence) started, in this session (None: between customers)."""

    stage: str
    session: str | None
    at: float  # the runtime's clock (monotonic seconds)
    kind: Literal["started"] = "started"


@dataclass(frozen=True, slots=True)
class StageEnded:
    """A stage ended: how (``ok``, ``late``: past its budget, ``failed``, ``cancelled``) and how long it took."""

    stage: str
    session: str | None
    at: float  # the runtime's clock (monotonic seconds)
    ms: float
    outcome: StageOutcome
    error: str | None = None
    kind: Literal["ended"] = "ended"


StageEvent: TypeAlias = StageStarted | StageEnded


class RuntimeParts:
    """What every part of the runtime shares: its state (set by :class:`KioskRuntime`), the log, stages, records.

    The runtime is one object built in layers, one module each: :class:`RuntimeParts`
    (stages), ``Speaking`` (speech), ``Turns`` (sessions and the turn), ``Listening``
    (voice input), ``Loops`` (the supervised loops) and ``KioskRuntime`` (wiring, lifecycle).
    Each stage run leaves a :class:`StageStarted` and a :class:`StageEnded` in ``stage_events``.
    """

    conversations: Conversations
    devices: Devices
    config: RuntimeConfig
    screen: LiveScreen | None
    synth: Synthesizer | None
    detector: FaceDetector | None
    _asr: AsrEngine | Callable[[], AsrEngine] | None
    _asr_session: tuple[str | None, AsrEngine] | None
    branch_hours: tuple[str | None, ...] | None
    now: Callable[[], datetime]
    _clock: Callable[[], float]
    supervisor: Supervisor
    presence: PresenceTracker
    session_id: str | None
    lang: Lang
    turns: deque[TurnRecord]
    events: deque[dict[str, Any]]
    sessions_closed: int
    turn_count: int
    tickets_printed: list[str]
    _turn_lock: asyncio.Lock
    _heard_order: asyncio.Lock
    _speaking: asyncio.Task[None] | None
    _echo_dbfs: float
    elderly: bool
    _voice_tasks: set[asyncio.Task[Any]]
    _phrases: Any
    _idle_since: float
    _stopping: bool
    ready: asyncio.Event
    idcard: IdCardDesk
    rating: RatingOffer
    stage_events: deque[StageEvent]

    async def _stage(self, name: str, work: Callable[[], T]) -> T:
        """Run blocking ``work`` off the loop within the stage's budget.

        Raises:
            RuntimeStageError: It failed or ran past its budget.
        """
        budget = getattr(self.config.budgets, f"{name}_s")
        session = self.session_id
        self.stage_events.append(StageStarted(name, session, self._clock()))
        started = time.perf_counter()

        def ended(outcome: StageOutcome, error: str | None = None) -> None:
            ms = round((time.perf_counter() - started) * 1000, 1)
            self.stage_events.append(StageEnded(name, session, self._clock(), ms, outcome, error))

        try:
            result = await asyncio.wait_for(asyncio.to_thread(work), timeout=budget)
        except asyncio.CancelledError:
            ended("cancelled")
            raise
        except TimeoutError as err:
            ended("late")
            _LOG.warning("stage %s ran past its %.1f s budget; skipped", name, budget)
            self._log("stage_late", stage=name)
            raise RuntimeStageError(f"{name} ran past its budget") from err
        except Exception as err:
            ended("failed", type(err).__name__)
            _LOG.exception("stage %s failed; skipped", name)
            self._log("stage_failed", stage=name, error=type(err).__name__)
            raise RuntimeStageError(f"{name} failed: {err}") from err
        ended("ok")
        return result

    def _record(
        self,
        source: str,
        heard: str,
        decision: Decision | KioskStep,
        *,
        reply: str | None = None,
        remember: bool = True,
        session: str | None = None,
        **details: Any,
    ) -> TurnRecord:
        """The turn's record (the customer's words masked here), kept for the page unless ``remember`` is off.

        Args:
            source: ``text``, ``voice``, ``button`` or ``idcard``.
            heard: What the customer said or typed (masked here).
            decision: The engine's decision or the kiosk's own step.
            reply: What the kiosk said, when not the decision's reply.
            remember: Keep it in :attr:`turns` (screen buttons are not turns).
            session: The session it belongs to (default: the current one).
            **details: ``printed``, ``skipped``, ``asr_confidence``, ``timings_ms``.
        """
        record = TurnRecord(
            session or self.session_id or "",
            source,
            mask_pii(heard),
            decision,
            decision.reply if reply is None else reply,
            **details,
        )
        if remember:
            self.turns.append(record)
            self.turn_count += 1
        return record

    def _log(self, kind: str, **data: Any) -> None:
        self.events.append({"at": round(time.time(), 3), "event": kind, **data})
