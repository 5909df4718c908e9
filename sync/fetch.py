"""HTTP transport of the sync agent: bounded in size and time, resumable.

:class:`HttpFetcher` is the python-tuf ``FetcherInterface`` the agent's
``Updater`` uses for metadata (connect and gap timeouts, a total deadline per
request). :func:`download_resumable` fetches a target into
``<state>/sync/partial/`` with HTTP ``Range`` so a cut download continues where
it stopped, never writes more than the signed length, and verifies length and
hashes before the file is used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sync.errors import HttpStatusError, RepositoryRejectedError, StorageError, TransportError

if TYPE_CHECKING:
    import urllib3
    from tuf.api.metadata import TargetFile

DEFAULT_CHUNK = 256 * 1024


@dataclass(frozen=True)
class FetchLimits:
    """Time bounds of one HTTP request."""

    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    total_timeout_s: float = 600.0
    chunk_size: int = DEFAULT_CHUNK


@dataclass(frozen=True)
class DownloadResult:
    """What a resumable download did."""

    path: Path
    length: int
    resumed_from: int
    fetched_bytes: int


class HttpFetcher:
    """urllib3 transport with timeouts and a total deadline; a python-tuf fetcher.

    Use :func:`make_fetcher` to get an instance that also is a
    ``tuf.ngclient.FetcherInterface`` (python-tuf is imported only then).

    Args:
        limits: Time bounds per request.
        user_agent: Sent with every request.
    """

    def __init__(self, limits: FetchLimits | None = None, user_agent: str = "bank-kiosk-sync") -> None:
        import urllib3

        self.limits = limits or FetchLimits()
        self._pool = urllib3.PoolManager(
            headers={"User-Agent": user_agent},
            retries=urllib3.Retry(total=0, redirect=3),
            timeout=urllib3.Timeout(connect=self.limits.connect_timeout_s, read=self.limits.read_timeout_s),
        )

    def open(self, url: str, *, start: int = 0) -> tuple[int, Iterator[bytes]]:
        """Request ``url`` (from byte ``start`` with a Range header when > 0).

        Returns:
            The HTTP status and an iterator over the body's chunks.

        Raises:
            TransportError: the server cannot be reached or answers an error status.
        """
        import urllib3

        headers = {"Range": f"bytes={start}-"} if start > 0 else {}
        try:
            response = self._pool.request("GET", url, headers=headers, preload_content=False)
        except urllib3.exceptions.HTTPError as err:
            raise TransportError(f"{url}: {err}") from err
        if response.status >= 400:
            # The error body is not read: close the connection, or the next request on it reads that body.
            response.close()
            response.release_conn()
            raise HttpStatusError(f"{url}: HTTP {response.status}", response.status)
        return response.status, self._chunks(url, response)

    def _chunks(self, url: str, response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
        import urllib3

        deadline = time.monotonic() + self.limits.total_timeout_s
        try:
            while chunk := response.read1(self.limits.chunk_size):
                yield chunk
                if time.monotonic() > deadline:
                    raise TransportError(f"{url}: took longer than {self.limits.total_timeout_s:.0f} s")
        except urllib3.exceptions.HTTPError as err:
            raise TransportError(f"{url}: transfer failed: {err}") from err
        finally:
            response.release_conn()


def make_fetcher(limits: FetchLimits | None = None) -> HttpFetcher:
    """An :class:`HttpFetcher` that python-tuf's ``Updater`` accepts as its fetcher."""
    from tuf.api import exceptions
    from tuf.ngclient import FetcherInterface

    class _TufFetcher(HttpFetcher, FetcherInterface):
        def _fetch(self, url: str) -> Iterator[bytes]:
            try:
                status, chunks = self.open(url)
            except HttpStatusError as err:
                raise exceptions.DownloadHTTPError(str(err), err.status) from err
            except TransportError as err:
                raise exceptions.DownloadError(str(err)) from err
            del status
            return _wrap_errors(chunks)

    def _wrap_errors(chunks: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from chunks
        except TransportError as err:
            raise exceptions.SlowRetrievalError(str(err)) from err

    return _TufFetcher(limits)


def download_resumable(
    fetcher: HttpFetcher,
    url: str,
    target: TargetFile,
    partial: Path,
) -> DownloadResult:
    """Download ``url`` into ``partial``, resuming what is already there, and verify it.

    The partial file grows by appending; a server that ignores ``Range``
    (status 200) restarts it from zero. More bytes than ``target.length`` are
    never written. A finished file that fails its hashes is deleted.

    Args:
        fetcher: The transport.
        url: Where the target's bytes are.
        target: The verified TUF target info (length, hashes).
        partial: The partial file (kept across runs until complete).

    Returns:
        The verified file and how much was fetched this time.

    Raises:
        TransportError: the transfer failed or stalled; the partial file is kept.
        StorageError: the local disk is full or failed; the partial file is removed.
        RepositoryRejectedError: the server sent more than the signed length or
            the file does not match the signed hashes.
    """
    from tuf.api.exceptions import LengthOrHashMismatchError

    partial.parent.mkdir(parents=True, exist_ok=True)
    have = partial.stat().st_size if partial.exists() else 0
    if have > target.length:
        partial.unlink()
        have = 0
    resumed_from = have
    fetched = 0
    if have < target.length:
        status, chunks = fetcher.open(url, start=have)
        mode = "ab"
        if status != 206:
            mode, have, resumed_from = "wb", 0, 0
        try:
            with partial.open(mode) as out:
                for chunk in chunks:
                    fetched += len(chunk)
                    if have + len(chunk) > target.length:
                        out.close()
                        partial.unlink(missing_ok=True)
                        raise RepositoryRejectedError(f"{url}: server sent more than the signed {target.length} bytes")
                    out.write(chunk)
                    have += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except OSError as err:
            # Disk full or read-only: free what this download took, so the kiosk keeps room to run.
            partial.unlink(missing_ok=True)
            raise StorageError(f"cannot store {url}: {err.strerror or err}") from err
        if have < target.length:
            raise TransportError(f"{url}: connection ended at {have} of {target.length} bytes")
    try:
        with partial.open("rb") as handle:
            target.verify_length_and_hashes(handle)
    except LengthOrHashMismatchError as err:
        partial.unlink(missing_ok=True)
        raise RepositoryRejectedError(f"{url}: downloaded file does not match its signed hashes: {err}") from err
    return DownloadResult(path=partial, length=target.length, resumed_from=resumed_from, fetched_bytes=fetched)
