"""The ``angee`` CLI shell: global flags anywhere, exit codes, the stderr shape of errors, plugin commands.

Exit codes and stderr run the real CLI in a subprocess; the error policy for failures a user cannot
trigger on purpose (a bug, Ctrl-C) runs :func:`angee.cli.main.run` in-process with a throwaway command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from angee import __version__
from angee.cli import main as cli_main
from angee.cli.context import find_enclosing_workspace, parse_kv
from angee.cli.main import AngeeGroup, LazyCommand, hoist_global_options, run
from angee.cli.stack import status as status_command
from angee.errors import RuntimeFailure
from angee.hookspecs import hookimpl

MANIFEST = """\
name: shell-demo
services:
  web: {runtime: container, image: nginx}
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANGEE_")}
    env.update(extra)
    return env


def angee(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "angee.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=60,
    )


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    root = tmp_path / "stack"
    root.mkdir()
    (root / "angee.yaml").write_text(MANIFEST)
    return root


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


# ---------------------------------------------------------------------------- version, help


def test_console_script_prints_version(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "angee"
    if not script.exists():
        pytest.skip("the angee console script is not installed in this environment")
    result = subprocess.run(
        [str(script), "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, f"angee {__version__}\n", "")


def test_version_works_anywhere_on_the_line(tmp_path: Path) -> None:
    for args in (["--version"], ["status", "--version"], ["stack", "status", "--version"]):
        result = angee(*args, cwd=tmp_path)
        assert (result.returncode, result.stdout) == (0, f"angee {__version__}\n"), args


def test_help_lists_global_options_and_core_commands(tmp_path: Path) -> None:
    result = angee("--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--root PATH", "--operator URL", "--operator-token T", "--json", "--version"):
        assert option in result.stdout
    commands = result.stdout.split("Commands:")[1]
    for name in ("status", "stack", "doctor", "secret", "plugins"):
        assert f"\n  {name} " in commands


# ---------------------------------------------------------------------------- global flags anywhere


def test_json_flag_anywhere_gives_the_same_output(stack: Path) -> None:
    before = angee("--json", "status", cwd=stack)
    after = angee("status", "--json", cwd=stack)
    nested = angee("stack", "status", "--json", cwd=stack)
    assert before.returncode == after.returncode == nested.returncode == 0
    assert before.stdout == after.stdout == nested.stdout
    assert json.loads(after.stdout)["name"] == "shell-demo"


def test_root_flag_anywhere_in_both_forms(stack: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (
        ["status", "--root", str(stack)],
        ["status", f"--root={stack}"],
        ["--root", str(stack), "status"],
        ["stack", "--root", str(stack), "status"],
    ):
        result = angee(*args, cwd=elsewhere)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout.splitlines()[:2] == ["shell-demo", f"root: {stack}"], args


def test_double_dash_stops_global_option_scanning(stack: Path) -> None:
    result = angee("status", "--", "--json", cwd=stack)
    assert result.returncode == 2
    assert "--json" in result.stderr
    assert_no_traceback(result)


def test_hoist_moves_global_options_in_front() -> None:
    assert hoist_global_options(["service", "list", "--json", "--root=/x", "--operator", "http://o"]) == [
        "--json",
        "--root=/x",
        "--operator",
        "http://o",
        "service",
        "list",
    ]
    assert hoist_global_options(["job", "run", "x", "--", "--json"]) == ["job", "run", "x", "--", "--json"]
    with pytest.raises(click.UsageError, match="--root"):
        hoist_global_options(["status", "--root"])


# ---------------------------------------------------------------------------- exit codes and stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["no-such-command"], "No such command 'no-such-command'"),
        (["statuss"], "Did you mean 'status'"),
        (["status", "--bogus"], "--bogus"),
        (["status", "extra-arg"], "extra-arg"),
        (["status", "--root"], "--root"),
    ],
)
def test_usage_errors_exit_2(stack: Path, args: list[str], fragment: str) -> None:
    result = angee(*args, cwd=stack)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Usage:" in result.stderr
    assert_no_traceback(result)


def test_missing_stack_is_one_message_and_a_hint(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = angee("status", cwd=empty)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "stack not found"
    assert lines[1].startswith("hint: ") and str(empty) in lines[1] and "--root" in lines[1]
    assert len(lines) == 2
    assert_no_traceback(result)


def test_broken_yaml_is_one_line_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text("name: broken\nservices:\n  web: [\n")
    result = angee("status", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{tmp_path / 'angee.yaml'}:")
    assert_no_traceback(result)


def test_unknown_manifest_key_names_the_dotted_path(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text(
        "name: x\nservices:\n  web:\n    runtime: container\n    imgae: nginx\n"
    )
    result = angee("status", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "services.web.imgae" in result.stderr
    assert_no_traceback(result)


def test_remote_mode_fails_with_one_clear_line(stack: Path) -> None:
    for args, env in (
        (["status", "--operator", "http://127.0.0.1:9"], clean_env()),
        (["status"], clean_env(ANGEE_OPERATOR_URL="http://127.0.0.1:9")),
    ):
        result = angee(*args, cwd=stack, env=env)
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1, result.stderr
        assert_no_traceback(result)


# ---------------------------------------------------------------------------- the error policy in-process


@pytest.fixture
def throwaway() -> Iterator[click.Group]:
    """Add commands to the real root group for one test, then remove them."""
    before = dict(cli_main.cli.commands)
    yield cli_main.cli
    cli_main.cli.commands.clear()
    cli_main.cli.commands.update(before)


def test_unexpected_exception_is_one_line_with_a_debug_hint(
    throwaway: click.Group, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    @throwaway.command("boom")
    def boom() -> None:
        raise ValueError("bad thing\nsecond line")

    monkeypatch.delenv("ANGEE_DEBUG", raising=False)
    assert run(["boom"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "angee: internal error: ValueError: bad thing",
        "angee: rerun with ANGEE_DEBUG=1 to see the traceback",
    ]

    monkeypatch.setenv("ANGEE_DEBUG", "1")
    assert run(["boom"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith("angee: internal error: ValueError: bad thing")


def test_runtime_failure_prints_tool_output_then_the_message(
    throwaway: click.Group, capsys: pytest.CaptureFixture[str]
) -> None:
    @throwaway.command("fail")
    def fail() -> None:
        raise RuntimeFailure("job migrate failed: exit status 3", output="line 1\nline 2")

    assert run(["fail"]) == 1
    out, err = capsys.readouterr()
    assert out == "line 1\nline 2\n"
    assert err == "job migrate failed: exit status 3\n"


def test_interrupt_exits_130(throwaway: click.Group, capsys: pytest.CaptureFixture[str]) -> None:
    @throwaway.command("stream")
    def stream() -> None:
        raise KeyboardInterrupt

    assert run(["stream"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_kv_options_split_at_first_equals(throwaway: click.Group, capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_kv(["a=b=c", "empty=", "a=last"], "--input") == {"a": "last", "empty": ""}

    @throwaway.command("kv")
    @click.option("--input", "inputs", multiple=True)
    def kv(inputs: tuple[str, ...]) -> None:
        click.echo(json.dumps(parse_kv(inputs, "--input")))

    assert run(["kv", "--input", "x=1=2"]) == 0
    assert json.loads(capsys.readouterr().out) == {"x": "1=2"}
    for bad in ("novalue", "=v"):
        assert run(["kv", "--input", bad]) == 2
        assert f'expected K=V, got "{bad}"' in capsys.readouterr().err


# ---------------------------------------------------------------------------- plugin commands


class _CommandPlugin:
    """A plugin object contributing one new command and one that collides with a core command."""

    @hookimpl
    def angee_cli_commands(self) -> list[click.Command]:
        @click.command("hello")
        def hello() -> None:
            """Say hello."""
            click.echo("hello from a plugin")

        @click.command("status")
        def fake_status() -> None:
            click.echo("plugin status")

        return [hello, fake_status]


def test_plugin_commands_are_added_but_never_replace_core_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from angee import plugins
    from angee.plugins import LoadedPlugin, PluginRegistry

    reg = PluginRegistry()
    reg.pm.register(_CommandPlugin(), name="greeter")
    reg.plugins["greeter"] = LoadedPlugin("greeter", "tests", "1.0", "greeter", False)
    monkeypatch.setattr(plugins, "_REGISTRY", reg)

    group = AngeeGroup(
        name="angee", lazy_commands={"status": LazyCommand("angee.cli.stack:status", "Show the stack.")}
    )
    ctx = click.Context(group, info_name="angee")
    assert group.list_commands(ctx) == ["hello", "status"]
    assert group.get_command(ctx, "status") is status_command
    assert group.get_command(ctx, "hello").name == "hello"
    err = capsys.readouterr().err
    assert 'plugin greeter: command "status" conflicts with a core command; ignored' in err


def test_help_does_not_import_command_modules(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from angee.cli.main import run\n"
        "code = run(['--help'])\n"
        "heavy = [m for m in ('angee.cli.stack', 'angee.cli.doctor', 'angee.cli.secret', 'flask', 'strawberry',"
        " 'copier', 'hvac') if m in sys.modules]\n"
        "print('IMPORTED', heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert "IMPORTED []" in result.stderr


# ---------------------------------------------------------------------------- enclosing workspace


def test_enclosing_workspace_is_found_from_inside_a_workspace(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text(MANIFEST)
    deep = tmp_path / "workspaces" / "fix-1" / "app" / "src"
    deep.mkdir(parents=True)
    assert find_enclosing_workspace(str(deep)) == (str(tmp_path), "fix-1")
    assert find_enclosing_workspace(str(tmp_path)) is None
    other = tmp_path / "other" / "workspaces" / "x"
    other.mkdir(parents=True)  # parent named workspaces, but no angee.yaml next to it
    assert find_enclosing_workspace(str(other)) is None


def test_container_service_without_image_is_one_line_naming_service_and_field(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text("name: demo\nservices:\n  web:\n    runtime: container\n    command: [serve]\n")
    result = angee("status", cwd=tmp_path)
    assert result.returncode == 1
    assert_no_traceback(result)
    assert result.stderr.count("\n") == 1
    assert "services.web" in result.stderr and "requires image or build" in result.stderr
