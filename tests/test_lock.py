"""The lock files cover pyproject.toml: every dependency pinned, within its bounds, with
hashes, and every bound has a ceiling on the major version. (`make install` installs from
requirements/dev.txt with --require-hashes; .ci/run on a fresh clone is the full proof.)"""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from config import PROJECT_DIR

PROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")


def requirements(*extras: str) -> list[Requirement]:
    """The project's own requirements, with those of ``extras`` (self-references left out)."""
    found = [Requirement(line) for line in PROJECT["dependencies"]]
    for extra in extras:
        found += [Requirement(line) for line in PROJECT["optional-dependencies"][extra]]
    return [r for r in found if canonicalize_name(r.name) != canonicalize_name(PROJECT["name"])]


def pins(lock: str) -> dict[str, str]:
    """Name -> version of every package a lock file pins; each entry must carry hashes."""
    text = (PROJECT_DIR / "requirements" / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)  # one entry per pinned package
    found: dict[str, str] = {}
    for entry in entries:
        match = PIN.match(entry)
        if match:
            assert "--hash=sha256:" in entry, f"{match[1]} has no hash in {lock}"
            found[canonicalize_name(match[1])] = match[2]
    return found


@pytest.mark.parametrize(("lock", "extras"), [("runtime.txt", ()), ("dev.txt", ("otel", "dev"))])
def test_every_dependency_is_pinned_within_its_bounds(lock: str, extras: tuple[str, ...]) -> None:
    pinned = pins(lock)
    for requirement in requirements(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in requirements/{lock}: run make lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={pinned[name]}, outside {requirement.specifier}"
        )


def test_runtime_lock_holds_no_development_tools() -> None:
    assert not {"pytest", "mypy", "ruff"} & set(pins("runtime.txt"))


def test_every_dependency_has_a_ceiling_on_its_major_version() -> None:
    for requirement in requirements("otel", "dev"):
        operators = {spec.operator for spec in requirement.specifier}
        assert operators & {"<", "=="}, f"{requirement} has no upper bound"
