"""Which kiosks a published bundle is for: channel, branches and a rollout share.

HQ stores a :class:`BundleTarget` as the custom metadata of each TUF target;
the agent installs a target only when :func:`is_targeted` says so.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.errors import RepositoryRejectedError


class BundleTarget(BaseModel):
    """Custom metadata of one published bundle (one TUF target)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="Bundle name, e.g. 'policy'.")
    kind: str = Field(min_length=1, description="Bundle kind (nlu, policy, ...).")
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$", description="Bundle version.")
    channel: str = Field(default="stable", pattern=r"^[a-z0-9_-]+$", description="Release channel.")
    branches: tuple[str, ...] = Field(default=(), description="Branches it is for; empty: no branch list.")
    percent: int = Field(
        default=100, ge=0, le=100, description="Share of the fleet (by stable kiosk hash) it is rolled out to."
    )
    cohort: str = Field(
        default="",
        pattern=r"^([a-z0-9][a-z0-9_.-]*)?$",
        description="Bundles rolled out together share one; its name picks the kiosk's bucket (default: name).",
    )
    revoked: tuple[str, ...] = Field(
        default=(),
        max_length=64,
        description="Versions HQ withdrew: never installed; a kiosk running one goes back to its previous version.",
    )

    @classmethod
    def from_custom(cls, path: str, custom: dict[str, Any]) -> BundleTarget:
        """Parse a target's custom metadata.

        Raises:
            RepositoryRejectedError: the custom metadata is not a bundle target.
        """
        try:
            return cls.model_validate(custom)
        except ValidationError as err:
            raise RepositoryRejectedError(f"target {path}: custom metadata is not a bundle target: {err}") from err


def rollout_bucket(kiosk_id: str, name: str) -> int:
    """Stable bucket 0..99 of a kiosk for a bundle name.

    The same kiosk stays in the same bucket for a name, so raising the rollout
    percentage only ever adds kiosks.
    """
    digest = hashlib.sha256(f"{name}\0{kiosk_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def is_targeted(target: BundleTarget, *, kiosk_id: str, branch: str, channel: str) -> bool:
    """Whether a kiosk should install ``target``.

    A kiosk on the target's channel installs it when its branch is listed or
    its rollout bucket (of the target's cohort, else its name) falls below the
    target's percentage, and never a version HQ revoked.
    """
    if target.channel != channel or target.version in target.revoked:
        return False
    if branch and branch in target.branches:
        return True
    return rollout_bucket(kiosk_id, target.cohort or target.name) < target.percent
