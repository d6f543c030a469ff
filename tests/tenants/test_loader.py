"""A bad regions.yaml stops start-up and names every problem with its path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from app import create_app
from app.tenants.loader import ConfigError, load_file, parse_yaml, validate
from tests.conftest import test_environ

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ROOT / "config" / "regions.yaml"
STATIC = ROOT / "app" / "static"


@pytest.fixture
def raw():
    return copy.deepcopy(yaml.safe_load(REGIONS.read_text(encoding="utf-8")))


def problems_of(raw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate(raw, "regions.yaml", static_dir=STATIC)
    return caught.value.problems


def test_the_shipped_file_is_valid():
    regions = load_file(REGIONS, static_dir=STATIC)
    assert list(regions.regions) == ["mosreg", "kaluga", "tatarstan", "moscow"]
    assert [m.label for m in regions.regions["mosreg"].login_methods] == [
        "Госуслуги",
        "Вход по логину",
    ]
    assert [m.label for m in regions.regions["moscow"].login_methods] == ["mos.ru"]


def test_colour_that_is_not_a_colour(raw):
    raw["regions"]["kaluga"]["branding"]["primary_color"] = "green"
    assert problems_of(raw) == [
        "regions.kaluga.branding.primary_color: not a colour (write it as #rrggbb)"
    ]


def test_primary_colour_too_light_for_white_text(raw):
    raw["regions"]["mosreg"]["branding"]["primary_color"] = "#ffee00"
    [problem] = problems_of(raw)
    assert problem.startswith("regions.mosreg.branding.primary_color: too light for white text")


def test_inline_secret_is_refused(raw):
    raw["regions"]["moscow"]["identity_provider"]["client_secret"] = "s3cr3t"
    assert problems_of(raw) == [
        "regions.moscow.identity_provider.client_secret: secrets are not written in this file: "
        "name an environment variable in client_secret_env"
    ]


def test_inline_key_material_is_refused(raw):
    raw["regions"]["kaluga"]["identity_provider"]["client_certificate_file_env"] = (
        "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----"
    )
    problems = problems_of(raw)
    assert (
        "regions.kaluga.identity_provider.client_certificate_file_env: "
        "a key or certificate is written inline: name its file's variable"
    ) in problems


def test_missing_required_field(raw):
    del raw["regions"]["mosreg"]["identity_provider"]["client_id"]
    assert problems_of(raw) == ["regions.mosreg.identity_provider.client_id: required"]


def test_unknown_field_is_named(raw):
    raw["regions"]["tatarstan"]["branding"]["primry_color"] = "#000000"
    assert problems_of(raw) == ["regions.tatarstan.branding.primry_color: unknown field"]


def test_unknown_login_method(raw):
    raw["regions"]["tatarstan"]["login_methods"] = ["esia", "sms"]
    assert problems_of(raw) == [
        "regions.tatarstan.login_methods.1.kind: must be one of: esia, oidc or password"
    ]


def test_login_method_needs_a_matching_provider(raw):
    raw["regions"]["kaluga"]["login_methods"] = [{"kind": "oidc", "label": "Другой вход"}]
    assert problems_of(raw) == [
        "regions.kaluga: login method oidc needs identity_provider.kind oidc, not esia"
    ]


def test_unknown_provider_kind(raw):
    raw["regions"]["kaluga"]["identity_provider"]["kind"] = "saml"
    assert problems_of(raw) == ["regions.kaluga.identity_provider: kind must be one of: esia, oidc"]


def test_host_claimed_by_two_regions(raw):
    raw["regions"]["kaluga"]["hosts"] = ["myschool.mosreg.ru"]
    [problem] = problems_of(raw)
    assert problem.startswith("(top level): a host belongs to one place only: myschool.mosreg.ru")
    assert "regions.kaluga.hosts" in problem and "regions.mosreg.hosts" in problem


def test_host_with_port_or_capitals(raw):
    raw["regions"]["mosreg"]["hosts"] = ["myschool.mosreg.ru:443", "MySchool.Mosreg.RU"]
    assert problems_of(raw) == [
        "regions.mosreg.hosts.0: not a host name (no scheme, port or path)",
        "regions.mosreg.hosts.1: a host name is written in lower case",
    ]


def test_logo_file_must_exist(raw):
    raw["regions"]["moscow"]["branding"]["logo"] = "branding/nowhere.svg"
    assert problems_of(raw) == [
        "regions.moscow.branding.logo: file not found in the static folder: branding/nowhere.svg"
    ]


def test_policy_ages_out_of_order(raw):
    raw["regions"]["kaluga"]["policy"]["self_registration_min_age"] = 16
    raw["regions"]["kaluga"]["policy"]["parent_consent_under_age"] = 14
    assert problems_of(raw) == [
        "regions.kaluga.policy: self_registration_min_age is above parent_consent_under_age"
    ]


def test_oidc_without_discovery_needs_endpoints(raw):
    del raw["regions"]["moscow"]["identity_provider"]["jwks_uri"]
    assert problems_of(raw) == [
        "regions.moscow.identity_provider: without discovery_url these endpoints are required: "
        "jwks_uri"
    ]


def test_every_problem_is_named_at_once(raw):
    raw["regions"]["kaluga"]["branding"]["primary_color"] = "green"
    raw["regions"]["moscow"]["identity_provider"]["client_secret"] = "s3cr3t"
    raw["regions"]["tatarstan"]["policy"]["session"] = {"idle_timeout_minutes": 0}
    del raw["regions"]["mosreg"]["branding"]["support"]["phone"]
    problems = problems_of(raw)
    assert len(problems) == 4
    assert {p.split(":")[0] for p in problems} == {
        "regions.kaluga.branding.primary_color",
        "regions.moscow.identity_provider.client_secret",
        "regions.tatarstan.policy.session.idle_timeout_minutes",
        "regions.mosreg.branding.support.phone",
    }


def test_yaml_syntax_error_gives_the_line():
    with pytest.raises(ConfigError) as caught:
        parse_yaml("portal:\n  name: [unclosed\nregions: {}\n", "regions.yaml")
    [problem] = caught.value.problems
    # libyaml's words ("did not find expected …"), or PyYAML's own where libyaml is missing.
    assert problem.startswith("line 3, column 8: ") and "expected ',' or ']'" in problem


def test_a_region_written_twice_is_an_error():
    text = "portal: {apex_hosts: [a.ru]}\nregions:\n  kaluga: {}\n  kaluga: {}\n"
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, "regions.yaml")
    assert caught.value.problems == ["line 4, column 3: key 'kaluga' appears twice"]


def test_top_level_must_be_a_mapping():
    with pytest.raises(ConfigError) as caught:
        validate(["a", "list"], "regions.yaml")
    assert caught.value.problems == ["(top level): must be a mapping with portal: and regions:"]


def test_start_up_is_refused_with_every_problem(tmp_path, raw):
    raw["regions"]["kaluga"]["branding"]["primary_color"] = "green"
    raw["regions"]["moscow"]["identity_provider"]["client_secret"] = "s3cr3t"
    bad = tmp_path / "regions.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        create_app(test_environ("sqlite://", REGIONS_FILE=str(bad)))
    message = str(caught.value)
    assert "2 problem(s)" in message
    assert "regions.kaluga.branding.primary_color: not a colour" in message
    assert "regions.moscow.identity_provider.client_secret: secrets are not written" in message


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_file(tmp_path / "absent.yaml")
    assert caught.value.problems == ["cannot be read: No such file or directory"]


def test_values_are_those_pyyaml_would_give():
    text = (Path(__file__).parents[2] / "config" / "regions.yaml").read_text()
    assert parse_yaml(text, "regions.yaml") == yaml.safe_load(text)
    typed = "n: 1\nf: 1.5\nb: yes\nz: null\nd: 2026-09-01\nl: [1, a]\n"
    assert parse_yaml(typed, "x.yaml") == yaml.safe_load(typed)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("? [1]\n: 2\n", "line 1, column 3: a key must be a plain value"),
        ("b: &a {x: 1}\nc:\n  <<: *a\n", "line 3, column 3: merge keys (<<) are not used here"),
        ("x: !!python/object:os.system {}\n", "could not determine a constructor"),
    ],
)
def test_what_the_file_may_not_hold(text, problem):
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, "regions.yaml")
    assert problem in caught.value.problems[0]
