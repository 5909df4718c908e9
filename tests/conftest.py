"""Shared fixtures: the default policy, a fake intent model, the built NLU bundle."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.config import DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR
from kiosk.policy import Policy, load_policy
from sync.hq.localpg import LocalPostgres
from tests.fakes import ROOT

# Kiosk processes started by tests skip the LLM stage (it loads a 98 MB model
# and answers in seconds); tests/integration/test_llm.py runs it for real.
os.environ.setdefault("KIOSK_NO_LLM", "1")


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(DEFAULT_POLICY_DIR)


@pytest.fixture(scope="session")
def nlu_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The NLU bundle `make` builds; built here into a temporary folder when missing."""
    built = DEFAULT_SEED_DIR / "nlu"
    if (built / "manifest.json").is_file():
        return built
    from edge_models.build.train_intent import build

    out = tmp_path_factory.mktemp("bundles") / "nlu"
    build(ROOT / "edge_models" / "data", out, origin="seed")
    return out


@pytest.fixture(scope="session")
def small_nlu(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small base data set (the first lines of every own-examples file) and the NLU bundle built from it.

    For retraining tests (`kiosk hq train`, the learning loop): one regularisation strength, no search.
    """
    from tests.integration.learning_loop import small_base

    return small_base(tmp_path_factory.mktemp("small-nlu"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres]:
    """A private PostgreSQL 15 on a unix socket (initdb + pg_ctl in a temporary folder), stopped at the end."""
    server = LocalPostgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def hq_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """HQ's store on each engine: a file under tmp_path, or a fresh database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hq-store' / 'hq.db'}"
    server: LocalPostgres = request.getfixturevalue("pg_server")
    return server.create_database()
