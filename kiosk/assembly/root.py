"""The composition root: the whole kiosk built from its :class:`~kiosk.config.Settings`, in one place.

Every front door builds the kiosk here: the web app (``create_app``'s
lifespan), the CLI (``kiosk chat``, ``kiosk nlu``, ``kiosk chat --voice``,
``kiosk demo``) and the scripts. :func:`build_kiosk` makes the store, the
engine with its models and LLM stage (through the reloader, so new
conversations pick up switched bundles and staff settings), and the
conversations with their hand-off summary worker; :meth:`Kiosk.attach_runtime`
adds the runtime (devices through the driver registry, voices, the face
detector, the recogniser) with :func:`kiosk.runtime.build_runtime`, which is
called from here only. :meth:`Kiosk.close` releases everything in the one
safe order. The bundle loaders themselves live in :mod:`kiosk.assembly`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.assembly.loaders import EngineReloader, Health, build_engine, stop_llm
from kiosk.config import Settings
from kiosk.conversation import Conversations
from kiosk.storage import Store

if TYPE_CHECKING:
    from kiosk.dialogue import DialogueEngine
    from kiosk.runtime import KioskRuntime, RuntimeConfig

__all__ = ["Kiosk", "build_engine", "build_kiosk"]


@dataclass
class Kiosk:
    """One kiosk, built: its store, engine reloader, conversations and (when attached) its runtime."""

    settings: Settings
    store: Store
    reloader: EngineReloader
    conversations: Conversations
    runtime: KioskRuntime | None = None

    @property
    def engine(self) -> DialogueEngine:
        """The engine new conversations start with now."""
        return self.conversations.engine

    @property
    def health(self) -> Health:
        """What loaded and what did not (the runtime's problems are added when it is attached)."""
        return self.reloader.health

    def attach_runtime(
        self,
        config: RuntimeConfig | None = None,
        *,
        ticket_dir: Path | None = None,
        with_screen: bool = True,
        **overrides: Any,
    ) -> KioskRuntime:
        """Build the runtime over these conversations: devices, screen, voices, face detector, recogniser.

        Blocking (loads models): call it off the event loop. Whatever fails
        is left out and reported in :attr:`health`.

        Args:
            config: Runtime settings (default: ``settings.runtime``).
            ticket_dir: Where the simulated printer writes tickets (None: memory only).
            with_screen: Draw the avatar.
            overrides: Keyword arguments for :class:`~kiosk.runtime.KioskRuntime` (e.g. ``now``).

        Raises:
            ValueError: If there is no runtime configuration, or a runtime is already attached.
        """
        from kiosk.runtime import build_runtime

        config = config or self.settings.runtime
        if config is None:
            raise ValueError("no runtime configuration: the settings run the page only")
        if self.runtime is not None:
            raise ValueError("this kiosk already has its runtime")
        self.runtime = build_runtime(
            self.conversations,
            config,
            state_dir=self.settings.state_dir,
            health=self.health,
            ticket_dir=ticket_dir,
            with_screen=with_screen,
            **overrides,
        )
        return self.runtime

    def close(self, *, summary_wait_s: float = 5.0, cut: bool = False) -> None:
        """Release the devices, then the summary worker (and the model it uses), then the store.

        Stop a started runtime first (``await kiosk.runtime.stop()``). A summary
        being written finishes within ``summary_wait_s`` (``cut``: stop it sooner),
        so none is left half-written and no thread is inside llama.cpp at exit; then the
        LLM's menu read-ahead, if it is still reading, stops at its next step.
        """
        if self.runtime is not None:
            self.runtime.devices.close()
        if self.conversations.summaries is not None:
            self.conversations.summaries.close(timeout=summary_wait_s, cut=cut)
        stop_llm(self.engine)
        self.store.close()


def build_kiosk(settings: Settings, *, resume_summaries: bool = True) -> Kiosk:
    """Provision the built-in bundles, open the store, load the policy and models, and make the conversations.

    Blocking (loads models): call it off the event loop.

    Args:
        settings: The kiosk's settings.
        resume_summaries: Re-queue hand-off summaries a previous run left pending (the long-running
            kiosk does; a one-shot command must not start a summary it would have to cut at exit).

    Raises:
        PolicyError: If neither the active nor the built-in policy loads.
    """
    store = Store(settings.db_path)
    try:
        reloader = EngineReloader.start(settings, tickets=store)  # new sessions pick up a switched active/
        conversations = Conversations(
            reloader.engine,
            store,
            reloader=reloader,
            resume_summaries=resume_summaries,
            limits=settings.side_effects,
        )
    except BaseException:
        store.close()
        raise
    return Kiosk(settings, store, reloader, conversations)
