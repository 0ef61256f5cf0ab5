"""Unit tests of the plugin registry with real entry points (dist-info written on a tmp sys.path dir)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from angee.builtin.local_source import LocalSourceKind
from angee.errors import InvalidInput
from angee.plugins import PluginRegistry

SOURCE_KIND_PLUGIN = """
from angee.contracts import SourceKind
from angee.hookspecs import hookimpl


class Kind(SourceKind):
    \"\"\"{doc}\"\"\"

    name = "{kind}"

    def materialize(self, root, name, source, progress=None):
        return "{marker}"


@hookimpl
def angee_source_kinds():
    return [Kind()]
"""


def write_plugin_dist(
    site: Path, dist: str, version: str, entry_points: dict[str, str], modules: dict[str, str]
) -> None:
    """Lay out an installed distribution (dist-info with ``[angee]`` entry points) and its modules."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
    (info / "entry_points.txt").write_text("[angee]\n" + lines)
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


def source_kind_module(kind: str, marker: str) -> str:
    return SOURCE_KIND_PLUGIN.format(kind=kind, marker=marker, doc=f"{kind} from {marker}")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


def test_builtins_provide_local_source_env_file_and_template_kinds() -> None:
    reg = PluginRegistry().load(entry_points=False)
    assert isinstance(reg.provider("source_kinds", "local", "source kind"), LocalSourceKind)
    assert "env-file" in reg.providers("secrets_backends")
    kinds = reg.providers("template_kinds")
    assert {k: v.family for k, v in kinds.items()} == {
        "stack": "stacks",
        "workspace": "workspaces",
        "service": "services",
        "project": "projects",
    }
    described = {p.name: p for p in reg.describe()}
    assert described["local"].builtin and described["local"].distribution == "angee"
    assert described["templates"].provides["template_kinds"] == ["stack", "workspace", "service", "project"]


def test_unknown_provider_is_invalid_input_naming_the_installed_ones() -> None:
    reg = PluginRegistry().load(entry_points=False)
    with pytest.raises(InvalidInput) as err:
        reg.provider("source_kinds", "svn", "source kind")
    assert str(err.value) == 'source kind: no plugin provides source kind "svn" (installed: local)'


def test_entry_point_plugin_is_registered_with_its_distribution_and_version(site: Path) -> None:
    write_plugin_dist(
        site,
        "angee-plugin-hg",
        "1.2.3",
        {"hg": "angee_test_hg_plugin"},
        {"angee_test_hg_plugin": source_kind_module("hg", "hg-plugin")},
    )
    reg = PluginRegistry().load()
    kind = reg.provider("source_kinds", "hg", "source kind")
    assert kind.materialize("/r", "s", None) == "hg-plugin"
    hg = {p.name: p for p in reg.describe()}["hg"]
    assert (hg.version, hg.distribution, hg.builtin, hg.module) == (
        "1.2.3",
        "angee-plugin-hg",
        False,
        "angee_test_hg_plugin",
    )
    assert hg.provides == {"source_kinds": ["hg"]}


def test_first_plugin_wins_and_builtins_cannot_be_shadowed(site: Path) -> None:
    write_plugin_dist(
        site,
        "angee-plugin-dups",
        "0.1",
        {"aaa-dup": "angee_test_dup_a", "bbb-dup": "angee_test_dup_b"},
        {
            "angee_test_dup_a": source_kind_module("dup", "from-a"),
            "angee_test_dup_b": source_kind_module("dup", "from-b"),
        },
    )
    write_plugin_dist(
        site,
        "angee-plugin-shadow",
        "0.1",
        {"shadow": "angee_test_shadow_local"},
        {"angee_test_shadow_local": source_kind_module("local", "shadow")},
    )
    reg = PluginRegistry().load()
    assert reg.provider("source_kinds", "dup", "source kind").materialize("/r", "s", None) == "from-a"
    assert isinstance(reg.provider("source_kinds", "local", "source kind"), LocalSourceKind)
    provides = {p.name: p.provides for p in reg.describe()}
    assert provides["aaa-dup"] == {"source_kinds": ["dup"]}
    assert provides["bbb-dup"] == {}  # its "dup" lost to the first plugin
    assert provides["shadow"] == {}
    assert provides["local"]["source_kinds"] == ["local"]


def test_a_raising_hook_is_isolated_and_recorded(site: Path) -> None:
    write_plugin_dist(
        site,
        "angee-plugin-raising",
        "0.1",
        {"raising": "angee_test_raising_plugin"},
        {
            "angee_test_raising_plugin": """
                from angee.hookspecs import hookimpl

                @hookimpl
                def angee_source_kinds():
                    raise RuntimeError("boom")
            """
        },
    )
    reg = PluginRegistry().load()
    assert "local" in reg.providers("source_kinds")
    assert any(
        f.name == "raising" and f.error == "angee_source_kinds: RuntimeError: boom" for f in reg.failures
    )
    assert "raising" in {p.name for p in reg.describe()}  # the module loaded; only its hook failed


def test_a_plugin_that_fails_to_import_is_recorded_not_registered(site: Path) -> None:
    write_plugin_dist(
        site,
        "angee-plugin-missing-dep",
        "0.1",
        {"missing-dep": "angee_test_missing_dep"},
        {"angee_test_missing_dep": "import angee_module_that_does_not_exist\n"},
    )
    reg = PluginRegistry().load()
    assert "missing-dep" not in reg.plugins
    [failure] = [f for f in reg.failures if f.name == "missing-dep"]
    assert failure.distribution == "angee-plugin-missing-dep"
    assert failure.error == "ModuleNotFoundError: No module named 'angee_module_that_does_not_exist'"
    assert "local" in reg.providers("source_kinds")


def test_event_hooks_report_a_raising_listener_on_stderr(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_plugin_dist(
        site,
        "angee-plugin-listener",
        "0.1",
        {"listener": "angee_test_listener"},
        {
            "angee_test_listener": """
                from angee.hookspecs import hookimpl

                seen = []

                @hookimpl
                def angee_workspace_destroyed(platform, name):
                    seen.append(name)
                    raise ValueError("cannot clean up " + name)
            """
        },
    )
    reg = PluginRegistry().load()
    reg.notify("angee_workspace_destroyed", platform=None, name="ws1")
    import angee_test_listener  # type: ignore[import-not-found]

    assert angee_test_listener.seen == ["ws1"]
    assert (
        "angee: plugin listener: angee_workspace_destroyed: ValueError: cannot clean up ws1"
        in capsys.readouterr().err
    )


def test_plugin_whose_hook_raises_is_listed_once_with_its_error(site: Path) -> None:
    from angee.cli.plugins_cmd import plugin_infos, render_plugins

    write_plugin_dist(
        site,
        "angee-plugin-half",
        "0.3",
        {"half": "angee_test_half_broken"},
        {
            "angee_test_half_broken": source_kind_module("half", "half")
            + "\n\n@hookimpl\ndef angee_cli_commands():\n    raise KeyError('cli')\n"
        },
    )
    reg = PluginRegistry().load()
    reg.cli_commands()  # the CLI asks for plugin commands before `plugins` describes them again
    infos = [i for i in plugin_infos(reg) if i.name == "half"]
    assert len(infos) == 1
    assert infos[0].provides["source_kinds"] == ["half"]
    assert infos[0].error == "angee_cli_commands: KeyError: 'cli'"
    assert "half\t0.3\tsource_kinds=half (error: angee_cli_commands: KeyError: 'cli')" in render_plugins(
        infos
    )
