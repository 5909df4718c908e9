"""The kiosk's TUF client: python-tuf ``Updater`` plus resumable target downloads.

The sync agent and ``kiosk sync tuf-client`` both go through
:class:`TufClient`, so the conformance CLI exercises the agent's code path.
python-tuf's errors are mapped onto this package's tree: bad data from the
repository becomes :class:`RepositoryRejectedError`, a failed transport
:class:`TransportError`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib import parse

from sync.errors import RepositoryRejectedError, TransportError
from sync.fetch import DownloadResult, FetchLimits, HttpFetcher, download_resumable, make_fetcher

if TYPE_CHECKING:
    from tuf.api.metadata import TargetFile

_T = TypeVar("_T")


def _guard(action: Callable[[], _T]) -> _T:
    from tuf.api import exceptions

    try:
        return action()
    except exceptions.DownloadLengthMismatchError as err:
        raise RepositoryRejectedError(f"repository sent too much: {err}") from err
    except exceptions.DownloadError as err:
        raise TransportError(f"repository unreachable: {err}") from err
    except exceptions.RepositoryError as err:
        raise RepositoryRejectedError(f"metadata rejected ({type(err).__name__}): {err}") from err
    except ValueError as err:
        raise RepositoryRejectedError(f"metadata rejected: {err}") from err


class TufClient:
    """Verified metadata and targets from one repository.

    Args:
        metadata_dir: Where trusted metadata is kept (non-versioned names).
        metadata_url: Base URL of the repository's metadata.
        bootstrap: The trusted root's bytes (provisioned with the kiosk).
        limits: Time bounds of every request.

    Raises:
        RepositoryRejectedError: the bootstrap root is not valid metadata.
    """

    def __init__(
        self, metadata_dir: Path, metadata_url: str, *, bootstrap: bytes, limits: FetchLimits | None = None
    ) -> None:
        from tuf.ngclient import Updater

        metadata_dir.mkdir(parents=True, exist_ok=True)
        self.metadata_dir = metadata_dir
        self.fetcher: HttpFetcher = make_fetcher(limits)
        self._updater = _guard(
            lambda: Updater(
                str(metadata_dir),
                metadata_url,
                fetcher=self.fetcher,  # type: ignore[arg-type]
                bootstrap=bootstrap,
            )
        )

    def refresh(self) -> None:
        """Refresh root, timestamp, snapshot and targets.

        Raises:
            TransportError: the repository cannot be reached.
            RepositoryRejectedError: metadata fails verification (signature,
                version rollback, expiry, mix-and-match, too large).
        """
        _guard(self._updater.refresh)

    def target_paths(self) -> list[str]:
        """Paths of the top-level targets, from the targets metadata just verified."""
        from tuf.api.metadata import Metadata

        data = (self.metadata_dir / "targets.json").read_bytes()
        md = Metadata.from_bytes(data)
        return sorted(md.signed.targets)  # type: ignore[attr-defined]

    def target_info(self, path: str) -> TargetFile | None:
        """Verified info (length, hashes, custom) of a target, or None.

        Raises:
            TransportError: delegated metadata cannot be fetched.
            RepositoryRejectedError: delegated metadata fails verification.
        """
        return _guard(lambda: self._updater.get_targetinfo(path))

    def target_url(self, target: TargetFile, base_url: str) -> str:
        """The URL of a target, with the hash prefix of consistent snapshots."""
        from tuf.api.metadata import Metadata, Root

        root = Metadata[Root].from_bytes((self.metadata_dir / "root.json").read_bytes()).signed
        name = target.path
        if root.consistent_snapshot:
            dirname, sep, basename = name.rpartition("/")
            name = f"{dirname}{sep}{next(iter(target.hashes.values()))}.{basename}"
        base = base_url if base_url.endswith("/") else base_url + "/"
        return base + parse.quote(name)

    def download(self, target: TargetFile, base_url: str, partial_dir: Path) -> DownloadResult:
        """Download a target into ``partial_dir`` (resuming a cut download) and verify it.

        Raises:
            TransportError: the transfer failed or stalled (the partial file is kept).
            RepositoryRejectedError: the bytes do not match the signed length and hashes.
        """
        digest = next(iter(target.hashes.values()))
        partial = partial_dir / f"{digest}.part"
        return download_resumable(self.fetcher, self.target_url(target, base_url), target, partial)

    @staticmethod
    def cached(target: TargetFile, path: Path) -> bool:
        """Whether ``path`` already holds exactly this target."""
        from tuf.api.exceptions import LengthOrHashMismatchError

        try:
            with path.open("rb") as handle:
                target.verify_length_and_hashes(handle)
        except (OSError, LengthOrHashMismatchError):
            return False
        return True
