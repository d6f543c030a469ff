"""A region's ``timezone``: an IANA name the time zone database knows, Moscow by default."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from app.tenants.loader import ConfigError, load_file, validate

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ROOT / "config" / "regions.yaml"
STATIC = ROOT / "app" / "static"
NOT_A_ZONE = "not a time zone (write an IANA name such as Europe/Moscow)"


@pytest.fixture
def raw():
    return copy.deepcopy(yaml.safe_load(REGIONS.read_text(encoding="utf-8")))


def test_the_four_regions_are_on_moscow_time():
    regions = load_file(REGIONS, static_dir=STATIC).regions
    assert {slug: region.timezone for slug, region in regions.items()} == dict.fromkeys(
        ("mosreg", "kaluga", "tatarstan", "moscow"), "Europe/Moscow"
    )


def test_a_region_without_one_is_on_moscow_time(raw):
    del raw["regions"]["kaluga"]["timezone"]
    assert validate(raw, "regions.yaml", static_dir=STATIC).regions["kaluga"].timezone == (
        "Europe/Moscow"
    )


def test_another_zone_is_kept(raw):
    raw["regions"]["kaluga"]["timezone"] = "Asia/Yekaterinburg"
    assert validate(raw, "regions.yaml", static_dir=STATIC).regions["kaluga"].timezone == (
        "Asia/Yekaterinburg"
    )


@pytest.mark.parametrize("zone", ["Moscow", "Europe/Mosсow", "MSK+3", "../../etc/passwd", "", 3])
def test_a_name_that_is_no_zone_stops_start_up(raw, zone):
    raw["regions"]["tatarstan"]["timezone"] = zone
    with pytest.raises(ConfigError) as caught:
        validate(raw, "regions.yaml", static_dir=STATIC)
    [problem] = caught.value.problems
    assert problem.startswith("regions.tatarstan.timezone: ")
    if isinstance(zone, str):
        assert problem == f"regions.tatarstan.timezone: {NOT_A_ZONE}"
