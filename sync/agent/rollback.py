"""Rolling a bundle back through the agent's journal, so its next poll does not undo it.

Staff roll back from the admin page or ``kiosk sync rollback``; the agent
rolls back on its own when a new version fails its health window. Either
way the journal (``sync/state.json``) records the version rolled back from:
the agent does not install it again (``held`` for staff, ``rejected`` for a
failed check) until HQ publishes another version.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bundles import activate, active_manifest, record_event
from sync.agent.config import edit_state

_LOG = logging.getLogger(__name__)


def roll_back_to(state_dir: Path, name: str, version: str, *, by: str = "staff") -> str:
    """Make installed ``version`` of ``name`` active and hold back the version it replaces.

    Args:
        state_dir: The kiosk's state directory.
        name: Bundle name.
        version: An installed version to go back to.
        by: Who asked (recorded in the sync history).

    Returns:
        The version that was active before ('' when none was).

    Raises:
        ActivationError: ``version`` is not installed.
    """
    with edit_state(state_dir) as state:
        current = active_manifest(state_dir, name)
        before = current.version if current is not None else ""
        activate(state_dir, name, version)
        bundle = state.bundle(name)
        if before and before != version and before not in bundle.held:
            bundle.held.append(before)
        bundle.held = [v for v in bundle.held if v != version]
        bundle.current, bundle.previous = version, ""
        bundle.pending, bundle.activated_at = "", 0.0
    try:
        record_event(
            state_dir / "kiosk.db", "rolled_back", name=name, version=version, detail=f"from {before or '-'} by {by}"
        )
    except OSError as err:  # the history must never undo a rollback
        _LOG.warning("cannot record the rollback: %s", err)
    return before


def held_versions(state_dir: Path) -> dict[str, list[str]]:
    """Versions held back per bundle name (for the admin page)."""
    from sync.agent.config import load_state

    return {name: list(b.held) for name, b in load_state(state_dir).bundles.items() if b.held}
