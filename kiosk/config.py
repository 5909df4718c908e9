"""Kiosk settings, parsed only at the entry points and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from kiosk.dialogue import SideEffectLimits
from kiosk.runtime import RuntimeConfig, WebConfig

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_POLICY_DIR = PACKAGE_DIR / "defaults" / "policy"
# Bundles built by `make` in a checkout (the default NLU model).
DEFAULT_SEED_DIR = PACKAGE_DIR.parent / "build" / "bundles"


def default_state_dir() -> Path:
    """Where a kiosk keeps its state when nothing else is configured."""
    return Path.home() / ".local" / "share" / "bank-kiosk"


class Settings(BaseModel):
    """Everything configurable about one kiosk."""

    model_config = ConfigDict(frozen=True)

    state_dir: Path = Field(default_factory=default_state_dir, description="State: bundles, active/, kiosk.db.")
    seed_dirs: tuple[Path, ...] = Field(
        default=(DEFAULT_POLICY_DIR, DEFAULT_SEED_DIR / "nlu", DEFAULT_SEED_DIR / "llm", DEFAULT_SEED_DIR / "embedder"),
        description="Built-in default bundles installed when the state has none.",
    )
    host: str = Field(default="127.0.0.1", description="Address the kiosk's local page binds to.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port of the kiosk's local page.")
    model_threads: int = Field(default=1, ge=1, le=8, description="onnxruntime threads for the intent model.")
    use_model: bool = Field(default=True, description="Load the intent model (off: rules only).")
    use_llm: bool = Field(default=True, description="Load the LLM stage for unsure turns.")
    use_embedder: bool = Field(
        default=True, description="Load the sentence embedder (English FAQ retrieval by meaning)."
    )
    llm_threads: int = Field(default=2, ge=1, le=8, description="llama.cpp threads.")
    llm_budget_s: float = Field(default=3.0, gt=0, le=30, description="Time budget of one LLM call.")
    llm_warm: bool = Field(
        default=True, description="Read the LLM's label-choice prompt in the background as soon as it loads."
    )
    llm_nice: int = Field(
        default=10, ge=0, le=19, description="Nice value of the LLM's threads (the avatar and speech come first)."
    )
    web: WebConfig = Field(default_factory=WebConfig, description="Hosts, TLS, proxy and body limits of the page.")
    side_effects: SideEffectLimits = Field(
        default_factory=SideEffectLimits,
        description="Hand-offs, risk alerts and tickets the whole kiosk may raise per window, all sessions together.",
    )
    runtime: RuntimeConfig | None = Field(
        default=None, description="Run the whole kiosk (devices, presence, voice, avatar); None: the page only."
    )

    @property
    def db_path(self) -> Path:
        """The SQLite database."""
        return self.state_dir / "kiosk.db"
