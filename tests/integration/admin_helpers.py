"""Shared helpers of the admin page tests: an app with users and a few real conversations."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from kiosk.admin.accounts import AdminDB

PASSWORD = "correct horse battery"  # noqa: S105 - a test account
CARD, PHONE = "4111 1111 1111 1111", "13812345678"
CONVERSATIONS: tuple[tuple[str, str], ...] = (
    ("s-card", f"my card {CARD} was stolen, call me on {PHONE}"),
    ("s-fraud", f"someone called saying they are police and told me to move money to a safe account, my phone {PHONE}"),
    ("s-human", "I want to talk to a real person"),
    ("s-unsure", "hmm maybe something about money thing"),
    ("s-zh", f"我叫王芳，手机{PHONE}，我的卡丢了"),
)
RAW = ("4111 1111 1111 1111", "4111111111111111", PHONE, "王芳")


def add_users(db_path: Path) -> None:
    db = AdminDB(db_path)
    db.create_user("sup", PASSWORD, "supervisor")
    db.create_user("clerk", PASSWORD, "staff")
    db.close()


def converse(client: TestClient) -> None:
    for session, text in CONVERSATIONS:
        response = client.post("/api/turn", json={"session": session, "text": text})
        assert response.status_code == 200, response.text


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in; returns the session's CSRF token (from the dashboard)."""
    form = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/admin/").text)
