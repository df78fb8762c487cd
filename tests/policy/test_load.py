"""Which files a policy directory gives: every policy in it, or a clear error; never part."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import ConfigError
from gate.policy.load import load_policies

FREEZE = """\
apiVersion: gate/v1
kind: Policy
metadata: {name: NAME}
spec:
  windows:
    - {name: freeze, type: deny, days: [mon, tue, wed, thu, fri, sat, sun]}
"""


def write(path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FREEZE.replace("NAME", name), encoding="utf-8")


def test_a_policy_whose_suffix_is_upper_case_is_read(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", "base")
    write(tmp_path / "Freeze.YAML", "freeze")
    names = [p.name for p in load_policies([str(tmp_path)], include_default=False)]
    assert names == ["freeze", "base"]


def test_policies_in_a_subdirectory_are_an_error_not_skipped(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", "base")
    write(tmp_path / "prod" / "freeze.yml", "freeze")
    (tmp_path / ".git").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("not a policy", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_policies([str(tmp_path)], include_default=False)
    assert caught.value.one_line() == (
        f"{tmp_path}: prod/ holds policies, and a directory's subdirectories are not read: "
        "give it with its own --policy"
    )
