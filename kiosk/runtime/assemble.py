"""Building the runtime for ``kiosk run`` and ``kiosk demo``: devices, screen, voice and vision models."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.runtime.config import RuntimeConfig
from kiosk.runtime.devices import open_devices
from kiosk.runtime.runtime import KioskRuntime

if TYPE_CHECKING:
    from collections.abc import Callable

    from edge_models.asr import AsrEngine, AsrModels
    from kiosk.assembly import Health
    from kiosk.conversation import Conversations

_LOG = logging.getLogger(__name__)


def build_runtime(
    conversations: Conversations,
    config: RuntimeConfig,
    *,
    state_dir: Path,
    health: Health | None = None,
    ticket_dir: Path | None = None,
    with_screen: bool = True,
    **overrides: Any,
) -> KioskRuntime:
    """Open the devices and load what the runtime needs; whatever fails is left out and reported.

    Blocking (loads models): call it off the event loop.

    Args:
        conversations: The dialogue side.
        config: Runtime settings.
        state_dir: The kiosk's state (voice bundles are built there at start, ASR bundles on the first voice turn).
        health: Problems are appended here for the admin page.
        ticket_dir: Where the simulated printer writes tickets.
        with_screen: Draw the avatar.
        overrides: Keyword arguments passed to :class:`KioskRuntime` (e.g. ``now``).
    """
    problems: list[str] = []
    devices = open_devices(config.devices, ticket_dir)
    for kind, why in devices.missing.items():
        if why != "not configured":
            problems.append(f"{kind} missing: {why}")
    screen = None
    if with_screen:
        from kiosk.runtime.screen import LiveScreen

        screen = LiveScreen(config.width, config.height, config.fps)
    synth = None
    if config.speak:
        try:
            from edge_models.tts import Voices

            synth = Voices(state_dir, zh_voice=config.voice.zh_voice)
            synth.voice_for("zh")  # load the chosen Mandarin voice now, not in the first reply
            problems.extend(synth.problems)
        except Exception as err:  # noqa: BLE001 - no speech: subtitles only
            problems.append(f"speech synthesis unavailable: {err}")
    detector = None
    if devices.camera is not None:
        try:
            from edge_models.vision import FaceDetector

            detector = FaceDetector()
        except Exception as err:  # noqa: BLE001 - no presence: touch starts a session
            problems.append(f"face detection unavailable: {err}")

    asr = asr_factory(state_dir)

    voice = devices.microphone != "none" and "microphone" not in devices.missing
    runtime = KioskRuntime(
        conversations,
        devices,
        config,
        screen=screen,
        synth=synth,
        detector=detector,
        asr=asr if voice else None,
        branch_hours=conversations.engine.policy.branch.hours.days,
        **overrides,
    )
    for problem in problems:
        _LOG.warning("%s", problem)
        if health is not None:
            health.problems.append(problem)
    return runtime


def asr_factory(state_dir: Path, *, threads: int = 2, build_defaults: bool = True) -> Callable[[], AsrEngine]:
    """The runtime's recogniser factory: the active ASR bundle, loaded through the kind registry.

    Cheap after the first call (engines are kept per active version); the
    runtime calls it at each new conversation, so a switched bundle is used
    from the next conversation on.
    """
    models: list[AsrModels] = []

    def engine() -> AsrEngine:
        if not models:
            from edge_models.asr import AsrModels
            from kiosk.assembly import LoadOptions, load_checked

            options = LoadOptions(asr_threads=threads)

            def load(directory: Path) -> AsrEngine:
                """Load through the registry and tell the sync agent how it went (it rolls back a failure)."""
                from bundles import read_manifest, write_runtime_report

                manifest = read_manifest(directory)
                try:
                    loaded: AsrEngine = load_checked(directory, options, kind="asr")
                except Exception as err:
                    write_runtime_report(state_dir, manifest.name, manifest.version, False, str(err))
                    raise
                write_runtime_report(state_dir, manifest.name, manifest.version, True)
                return loaded

            models.append(AsrModels(state_dir, threads=threads, build_defaults=build_defaults, load=load))
        return models[0].engine_for("auto")

    return engine
