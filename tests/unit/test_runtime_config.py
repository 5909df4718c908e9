"""The runtime settings file (TOML): defaults filled in, unknown keys and bad values refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.runtime import load_runtime_config


def test_a_settings_file_sets_devices_and_keeps_the_rest_default(tmp_path: Path) -> None:
    path = tmp_path / "runtime.toml"
    path.write_text(
        "attract_after_s = 45\n[devices]\nprinter = 'escpos:network:10.0.0.9'\nprinter_paper_sensor = true\n"
        "paper_low_slips = 5\n[budgets]\nprint_s = 2.5\n"
    )
    config = load_runtime_config(path)
    assert config.attract_after_s == 45.0
    assert (config.devices.printer, config.devices.printer_paper_sensor) == ("escpos:network:10.0.0.9", True)
    assert (config.devices.paper_low_slips, config.devices.paper_slips) == (5, 500)
    assert config.budgets.print_s == 2.5
    assert config.devices.camera == "simulated"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[devices]\nprinterr = 'none'\n", "unknown setting 'devices.printerr'"),
        ("atract_after_s = 3\n", "unknown setting 'atract_after_s'"),
        ("[devices]\npaper_slips = -1\n", "devices.paper_slips: Input should be greater than or equal to 0"),
        ("[devices\n", "cannot read the runtime settings"),
    ],
    ids=["typo-in-table", "typo-at-top", "bad-value", "not-toml"],
)
def test_bad_settings_files_are_refused_by_name(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "runtime.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as caught:
        load_runtime_config(path)
    assert str(path) in str(caught.value)


def test_a_missing_settings_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        load_runtime_config(tmp_path / "nope.toml")


def test_a_settings_file_naming_an_unknown_driver_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "runtime.toml"
    path.write_text("[devices]\ncamera = 'v4l9'\n")
    with pytest.raises(ValueError, match=r"devices.camera: .*unknown camera driver 'v4l9' \(known: file, none, opencv"):
        load_runtime_config(path)
