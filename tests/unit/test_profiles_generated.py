"""The site profiles are generated (helgenom.profiles): the committed files are what the
generator makes, and the hand-written clinical-priority profile sets no key they set."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helgenom.profiles import (
    REGENERATE,
    SITE_PROFILES,
    first_difference,
    profile_data,
    profile_path,
    render_profile,
    stale_profiles,
)
from helgenom.sites import SITES

REPO = Path(__file__).resolve().parents[2]


def test_every_site_has_a_generated_profile() -> None:
    assert set(SITE_PROFILES) == set(SITES)


@pytest.mark.parametrize("site", sorted(SITE_PROFILES))
def test_committed_profile_is_the_generated_one(site: str) -> None:
    path = profile_path(REPO, site)
    difference = first_difference(path.read_text(), render_profile(site))
    assert difference is None, (
        f"{path.relative_to(REPO)} is not what helgenom.profiles generates ({difference}): "
        f"edit src/helgenom/profiles.py or sites.py, not the file, and run {REGENERATE}"
    )


@pytest.mark.parametrize("site", sorted(SITE_PROFILES))
def test_generated_profile_says_so_and_how_to_regenerate(site: str) -> None:
    text = render_profile(site)
    assert text.startswith(f"# Generated: do not edit. Regenerate: {REGENERATE}\n")
    assert "src/helgenom/profiles.py" in text and "src/helgenom/sites.py" in text
    assert yaml.safe_load(text) == profile_data(site)


def test_a_stale_profile_is_named_with_its_first_differing_line(tmp_path: Path) -> None:
    for site in SITE_PROFILES:
        target = profile_path(tmp_path, site)
        target.parent.mkdir(parents=True)
        target.write_text(render_profile(site))
    assert stale_profiles(tmp_path) == []
    path = profile_path(tmp_path, "abacus")
    path.write_text(path.read_text().replace("jobs: 100", "jobs: 50"))
    profile_path(tmp_path, "genomedk").unlink()
    stale = stale_profiles(tmp_path)
    number = render_profile("abacus").splitlines().index("jobs: 100") + 1
    assert stale == [
        "profiles/genomedk/config.v8+.yaml: missing",
        f"profiles/abacus/config.v8+.yaml: line {number}: committed 'jobs: 50', "
        "generated 'jobs: 100'",
    ]


def test_first_difference() -> None:
    assert first_difference("a\nb\n", "a\nb\n") is None
    assert first_difference("a\nb\n", "a\nc\n") == "line 2: committed 'b', generated 'c'"
    assert first_difference("a\nb\nc\n", "a\nb\n") == (
        "line 3: only the committed text goes on, with 'c'"
    )
    assert first_difference("a\r\nb\r\n", "a\nb\n") == "the line ends differ"


def test_clinical_priority_sets_no_key_of_a_site_profile() -> None:
    """It is used on top of a site profile: Snakemake would replace such a key, not merge it."""
    clinical = yaml.safe_load(
        (REPO / "profiles" / "clinical-priority" / "config.v8+.yaml").read_text()
    )
    for site in SITE_PROFILES:
        assert not set(clinical) & set(profile_data(site)), site
