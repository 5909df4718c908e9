"""Settings of the admin page (parsed at the entry point, passed down)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AdminConfig(BaseModel):
    """How the admin page signs staff in and serves them."""

    model_config = ConfigDict(frozen=True)

    session_idle_minutes: float = Field(default=30, gt=0, le=24 * 60, description="Idle time that ends a session.")
    session_max_hours: float = Field(default=12, gt=0, le=72, description="Longest a session lasts.")
    max_failures: int = Field(default=5, ge=1, le=50, description="Failed sign-ins in a row that lock an account.")
    lockout_minutes: float = Field(default=15, gt=0, le=24 * 60, description="How long a lock-out lasts.")
    attempts_per_minute: int = Field(default=10, ge=1, le=1000, description="Sign-in attempts per client a minute.")
    cookie_secure: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (on when the page is served with TLS)."
    )
    metrics_token: str | None = Field(
        default=None, min_length=24, description="Bearer token a Prometheus scraper may use instead of a sign-in."
    )
    live_poll_seconds: float = Field(default=1.0, gt=0, le=30, description="How often the live view polls.")
    live_max_seconds: float = Field(default=300, gt=0, le=3600, description="A live stream ends after this long.")
    review_below: float = Field(default=0.6, ge=0, le=1, description="Turns below this confidence go to review.")
