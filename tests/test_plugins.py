"""``angee plugins`` end to end: the bundled plugins, a REALLY pip-installed third-party plugin, a broken one.

Every test runs the installed ``angee`` console script in a subprocess, as a user would.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).parent


def angee_script() -> str:
    """The ``angee`` console script of this interpreter's environment (else the one on PATH)."""
    beside = Path(sys.executable).parent / "angee"
    if beside.is_file():
        return str(beside)
    found = shutil.which("angee")
    if not found:
        pytest.fail("the angee console script is not installed (pip install -e .)")
    return found


def angee(*args: str, cwd: Path, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("ANGEE_OPERATOR_URL", None)
    env.pop("ANGEE_ROOT", None)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [angee_script(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def plugins_json(cwd: Path, site: Path | None = None) -> list[dict[str, Any]]:
    done = angee("--json", "plugins", cwd=cwd, site=site)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def can_build_wheels_offline() -> bool:
    """setuptools builds wheels by itself from 70.1; older ones need the ``wheel`` package installed."""
    if importlib.util.find_spec("wheel") is not None:
        return True
    from importlib.metadata import version

    major, minor = (int(x) for x in version("setuptools").split(".")[:2])
    return (major, minor) >= (70, 1)


def pip_install(package: Path, tmp: Path) -> Path:
    """``pip install --no-deps --target`` a copy of ``package`` (the source tree stays clean); the site dir."""
    source = tmp / "src" / package.name
    shutil.copytree(package, source)
    site = tmp / "site"
    argv = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site)]
    if can_build_wheels_offline():
        argv.append("--no-build-isolation")  # no network needed
    done = subprocess.run([*argv, str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return site


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pip_install(TESTS / "example_plugin", tmp_path_factory.mktemp("example"))


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pip_install(TESTS / "broken_plugin", tmp_path_factory.mktemp("broken"))


def providers(listing: list[dict[str, Any]], category: str) -> dict[str, str]:
    """``{provider name: plugin name}`` for one category across the listing."""
    return {item: p["name"] for p in listing for item in p["provides"][category]}


# ---------------------------------------------------------------- (a) bundled plugins


def test_plugins_lists_builtin_and_bundled_providers(tmp_path: Path) -> None:
    listing = plugins_json(tmp_path)
    by_name = {p["name"]: p for p in listing}
    assert len(by_name) == len(listing), "a plugin is listed twice"
    assert [p for p in listing if p.get("error")] == []

    sources = providers(listing, "source_kinds")
    assert sources["local"] == "local" and by_name["local"]["builtin"] is True
    assert sources["git"] == "git"
    assert by_name["git"] == {
        "name": "git",
        "version": "0.1.0",
        "distribution": "angee-plugin-source-git",
        "builtin": False,
        "module": "angee_source_git",
        "provides": {
            "source_kinds": ["git"],
            "runtimes": [],
            "secrets_backends": [],
            "template_kinds": [],
            "cli_commands": [],
        },
    }
    secrets = providers(listing, "secrets_backends")
    assert secrets["env-file"] == "env-file" and by_name["env-file"]["distribution"] == "angee"
    if importlib.util.find_spec("angee_secrets_openbao") is not None:
        assert secrets.get("openbao") == "openbao"
    runtimes = providers(listing, "runtimes")
    assert runtimes["compose"] == "compose"
    assert runtimes["process-compose"] == "process" and runtimes["embedded"] == "process"
    assert providers(listing, "template_kinds") == {
        "stack": "templates",
        "workspace": "templates",
        "service": "templates",
        "project": "templates",
    }
    builtins = [p["name"] for p in listing if p["builtin"]]
    assert builtins == sorted(builtins) and listing[: len(builtins)] == [by_name[n] for n in builtins]


def test_plugins_text_is_one_row_per_plugin(tmp_path: Path) -> None:
    done = angee("plugins", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert "git\t0.1.0\tsource_kinds=git" in rows
    assert "process\t0.1.0\truntimes=process-compose,embedded" in rows
    assert "templates\t0.1.0\ttemplate_kinds=stack,workspace,service,project" in rows
    assert all(len(row.split("\t")) == 3 for row in rows)


# ---------------------------------------------------------------- (b) a real third-party install


def test_installed_example_plugin_is_listed_once_with_what_it_provides(
    tmp_path: Path, example_site: Path
) -> None:
    assert (example_site / "angee_plugin_example" / "__init__.py").is_file()
    listing = plugins_json(tmp_path, example_site)
    examples = [p for p in listing if p["name"] == "example"]
    assert examples == [
        {
            "name": "example",
            "version": "0.2.0",
            "distribution": "angee-plugin-example",
            "builtin": False,
            "module": "angee_plugin_example",
            "provides": {
                "source_kinds": [],
                "runtimes": [],
                "secrets_backends": ["example-memory"],
                "template_kinds": [],
                "cli_commands": ["hello"],
            },
        }
    ]
    text = angee("plugins", cwd=tmp_path, site=example_site).stdout.splitlines()
    assert "example\t0.2.0\tsecrets_backends=example-memory cli_commands=hello" in text


def test_installed_example_plugin_adds_a_working_command(tmp_path: Path, example_site: Path) -> None:
    done = angee("hello", "World", cwd=tmp_path, site=example_site)
    assert (done.returncode, done.stdout) == (0, "hello from angee-plugin-example, World\n"), done.stderr
    helped = angee("--help", cwd=tmp_path, site=example_site)
    assert helped.returncode == 0 and "hello" in helped.stdout


def test_without_the_install_the_command_does_not_exist(tmp_path: Path) -> None:
    done = angee("hello", "World", cwd=tmp_path)
    assert done.returncode == 2
    assert "hello from" not in done.stdout


# ---------------------------------------------------------------- (c) a broken plugin


def test_broken_plugin_is_reported_not_fatal(tmp_path: Path, broken_site: Path) -> None:
    listing = plugins_json(tmp_path, broken_site)
    [broken] = [p for p in listing if p["name"] == "broken"]
    assert broken["distribution"] == "angee-plugin-broken"
    assert broken["version"] == "0.0.1"
    assert broken["module"] == "angee_plugin_broken"
    assert broken["error"] == (
        "ImportError: angee_plugin_broken needs the module 'angee_missing_dependency', which is not installed"
    )
    assert all(v == [] for v in broken["provides"].values())
    assert "git" in providers(listing, "source_kinds")  # everything else still loads

    text = angee("plugins", cwd=tmp_path, site=broken_site)
    assert text.returncode == 0
    assert f"broken\t-\terror: {broken['error']}" in text.stdout.splitlines()


def test_broken_plugin_does_not_stop_other_commands(tmp_path: Path, broken_site: Path) -> None:
    done = angee("--help", cwd=tmp_path, site=broken_site)
    assert done.returncode == 0, done.stderr
    assert "plugins" in done.stdout
    assert "Traceback" not in done.stderr
