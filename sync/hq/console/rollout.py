"""Rollout state for the console: what HQ's repository publishes per channel, and to what share of the fleet.

:func:`published_targets` is the one place the console reads rollout state;
a staged-rollout module can replace it (same return type) without touching
the pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from sync.errors import HqError
from sync.targeting import BundleTarget


class PublishedTarget(BaseModel):
    """One bundle target in the repository and how far the fleet has taken it."""

    model_config = ConfigDict(frozen=True)

    channel: str = Field(description="Release channel.")
    name: str = Field(description="Bundle name.")
    kind: str = Field(description="Bundle kind.")
    version: str = Field(description="Bundle version.")
    percent: int = Field(description="Share of the channel's kiosks it is rolled out to.")
    branches: tuple[str, ...] = Field(description="Branches it is for regardless of the share.")
    published: bool = Field(description="Signed and served (False: staged, waiting for `kiosk hq publish`).")
    path: str = Field(description="Its target path in the repository.")


class RolloutRow(PublishedTarget):
    """A published target with the kiosks that report running it."""

    running: int = Field(description="Kiosks whose latest report shows this version of this bundle active.")


def published_targets(home: Path) -> list[PublishedTarget]:
    """What the repository at ``home`` publishes (and stages), by channel then bundle name.

    Raises:
        HqError: ``home`` is not an HQ repository or its metadata cannot be read.
    """
    from sync.hq.repository import HqRepository

    try:
        bundles = HqRepository(home).bundles()
    except (OSError, ValueError) as err:
        raise HqError(f"cannot read the repository's targets: {err}") from err
    rows = []
    for b in bundles:
        try:
            target = BundleTarget.model_validate(b)
        except ValueError:
            continue  # not a bundle target (nothing a kiosk would install)
        rows.append(
            PublishedTarget(
                channel=target.channel,
                name=target.name,
                kind=target.kind,
                version=target.version,
                percent=target.percent,
                branches=target.branches,
                published=bool(b.get("published", True)),
                path=str(b["path"]),
            )
        )
    return sorted(rows, key=lambda r: (r.channel, r.name, r.version))


def with_adoption(targets: Iterable[PublishedTarget], fleet_versions: Iterable[dict[str, str]]) -> list[RolloutRow]:
    """Each target with how many kiosks report its version of its bundle as active."""
    versions = list(fleet_versions)
    return [RolloutRow(**t.model_dump(), running=sum(v.get(t.name) == t.version for v in versions)) for t in targets]
