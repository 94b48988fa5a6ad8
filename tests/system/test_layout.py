"""The house's layout holds: every module of rbac/ stands in one of its groups."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_rbac_module_is_in_the_model_or_the_platform():
    """A new module of rbac/ must be placed (pyproject's contract), so the contract covers it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["name"] == "rbac: the model never imports the platform around it"
    )
    placed = set(contract["source_modules"]) | set(contract["forbidden_modules"])
    modules = {
        f"rbac.{path.stem}" for path in (ROOT / "rbac").glob("*.py") if path.stem != "__init__"
    }
    modules |= {f"rbac.{path.parent.name}" for path in (ROOT / "rbac").glob("*/__init__.py")}
    assert modules == placed
    assert not set(contract["source_modules"]) & set(contract["forbidden_modules"])
