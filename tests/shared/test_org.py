"""The org file: loaded, validated, and errors that name the problem."""

from pathlib import Path

import pytest

from shared.org import OrgConfigError, load_org
from tests.support import ORG


def test_demo_org_loads_with_chains_and_default_root_causes() -> None:
    org = load_org(ORG)
    assert [u.id for u in org.chain("u-ana")] == ["u-lead", "u-ceo"]
    assert "product_defect" in org.root_causes and "courier" in org.root_causes["delivery_logistics"].keywords
    assert org.user_by_token("dev-ceo").role == "leader"


def test_bad_reference_is_named(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("teams: [{id: a, name: A}]\nusers: [{id: u, name: U, team: b, role: employee, token: tok-123}]\n")
    with pytest.raises(OrgConfigError, match="unknown team 'b'"):
        load_org(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(OrgConfigError, match="cannot read org file"):
        load_org(tmp_path / "nope.yaml")
