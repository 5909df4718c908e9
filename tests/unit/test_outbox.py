"""The agent's outbox and device identity on disk: queued once, ordered, kept across restarts."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sync.agent.identity import DeviceSigner, create_identity, identity_dir, load_identity_key
from sync.agent.outbox import Outbox
from sync.agent.uplink import MAX_BATCH_BYTES, _batch
from sync.envelope import verify_signature
from sync.errors import SyncError
from sync.messages import CountsItem, DailyCount, IntakeItem, LabelItem


def label(n: int, text: str = "my card is lost") -> LabelItem:
    return LabelItem(item_id=f"label-{n}", text=text, lang="en", intent="card_lost", labelled_at="2026-12-04T10:00:00")


def test_items_wait_in_order_and_survive_a_new_instance(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    counts = CountsItem(
        item_id="counts:2026-12-04",
        day="2026-12-04",
        rows=(DailyCount(lang="zh", intent="card_lost", turns=3, decided=2, clarified=1, handed_off=0),),
    )
    assert box.put(label(2), now_ns=20)
    assert box.put(counts, now_ns=30)
    assert box.put(label(1), now_ns=10)
    restarted = Outbox(tmp_path)  # as after a crash or a reboot
    assert [i.item_id for i in restarted.pending()] == ["label-1", "label-2", "counts:2026-12-04"]
    assert restarted.pending()[2] == counts
    assert len(restarted) == 3


def test_the_same_item_is_queued_once(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    assert box.put(label(1))
    assert not box.put(label(1, text="changed"))
    assert [i.text for i in box.pending() if isinstance(i, LabelItem)] == ["my card is lost"]


def test_done_removes_only_confirmed_items(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    for n in range(3):
        box.put(label(n), now_ns=n)
    box.done(["label-1", "label-9"])
    assert [i.item_id for i in box.pending()] == ["label-0", "label-2"]


def test_a_damaged_file_is_set_aside_not_lost_or_blocking(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    box.put(label(1))
    (box.folder / "0000.json").write_text("{truncated", encoding="utf-8")
    assert [i.item_id for i in box.pending()] == ["label-1"]
    assert (box.folder / "bad" / "0000.json").read_text(encoding="utf-8") == "{truncated"


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    box.put(label(1))
    assert [p.name for p in box.folder.iterdir() if p.name.startswith(".")] == []


def test_batches_stay_under_the_body_limit() -> None:
    items: list[IntakeItem] = [label(n, text="字" * 900) for n in range(60)]
    first = _batch(items)
    assert 0 < len(first) < 60
    body = b'{"items":[' + b",".join(i.model_dump_json().encode() for i in first) + b"]}"
    assert len(body) <= MAX_BATCH_BYTES


def test_device_key_is_private_and_kept(tmp_path: Path) -> None:
    created, public = create_identity(tmp_path)
    again, public_again = create_identity(tmp_path)
    key_file = identity_dir(tmp_path) / "device.key"
    assert (created, again, public_again) == (True, False, public)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(identity_dir(tmp_path).stat().st_mode) == 0o700
    assert (identity_dir(tmp_path) / "device.pub").read_text(encoding="ascii").strip() == public


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    create_identity(tmp_path)
    os.chmod(identity_dir(tmp_path) / "device.key", 0o644)
    with pytest.raises(SyncError, match="0600"):
        load_identity_key(tmp_path)


def test_counter_grows_even_when_the_clock_goes_back(tmp_path: Path) -> None:
    create_identity(tmp_path)
    signer = DeviceSigner(tmp_path, "k1")
    first = signer.next_counter(1_800_000_000.0)
    second = signer.next_counter(1_700_000_000.0)  # clock set back
    third = DeviceSigner(tmp_path, "k1").next_counter(1_700_000_000.0)  # and a restart
    assert first < second < third


def test_signer_signs_what_the_public_key_verifies(tmp_path: Path) -> None:
    _, public = create_identity(tmp_path)
    from sync.envelope import load_public_key

    envelope = DeviceSigner(tmp_path, "k1").seal("/api/intake", b"{}", 1_800_000_000.0)
    verify_signature(envelope, load_public_key(public), "/api/intake", b"{}")
