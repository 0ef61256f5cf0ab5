"""The command of every engine program: ``python -m angee_runtime_process.engine.launch <root> <name>``.

At each start it reads ``process-compose.yaml`` and the runtime env file (paths from ``engine.json``),
waits out the restart back-off, waits for its ``depends_on`` conditions (exiting with ``BLOCKED_EXIT``
when one can no longer be met), builds the environment (process env + runtime env + ``environment``),
expands ``${VAR}``/``$VAR`` in the command, environment values and ``working_dir`` (``$$`` → ``$``),
and finally becomes ``sh -c <command>`` in ``working_dir`` (default: the stack root). Keeping values
out of supervisord's configuration is the point: secrets exist only in this process's environment.
"""

from __future__ import annotations

import os
import sys
import time
import xmlrpc.client

from angee.errors import AngeeError

from .conf import BLOCKED_EXIT
from .control import BAD_NAME, RPC_ERRORS, rpc
from .paths import EnginePaths, read_settings
from .project import ProcessSpec, expand, load_project, process_env
from .states import clear_waiting, dependency_status, set_waiting

POLL_SECONDS = 0.1


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _read_runtime_env(path: str) -> dict[str, str]:
    """The lenient env-file reader of the kernel (bad lines skipped, missing file empty)."""
    if not path:
        return {}
    from angee.secrets.envfile import read_env_file_lenient

    return read_env_file_lenient(path)


def _restart_backoff(paths: EnginePaths, spec: ProcessSpec) -> None:
    """Space out restarts of a restarting process by ``backoff_seconds`` (supervisor respawns at once)."""
    marker = paths.marker(spec.name, "launched")
    if spec.restart in ("always", "on_failure") and spec.backoff_seconds > 0:
        try:
            remaining = os.stat(marker).st_mtime + spec.backoff_seconds - time.time()
        except OSError:
            remaining = 0.0
        if remaining > 0:
            set_waiting(paths, spec.name, "restarting")
            time.sleep(min(remaining, spec.backoff_seconds))
    with open(marker, "w", encoding="utf-8"):
        pass


def _await_dependencies(paths: EnginePaths, spec: ProcessSpec) -> str:
    """Block until every dependency's condition holds; the reason when one never will, else ``""``."""
    pending = dict(spec.depends_on)
    if not pending:
        return ""
    set_waiting(paths, spec.name, "pending")
    proxy = rpc(paths, 10.0)
    while True:
        for dep, condition in sorted(pending.items()):
            try:
                info = proxy.supervisor.getProcessInfo(dep)
            except xmlrpc.client.Fault as fault:
                if fault.faultCode == BAD_NAME:
                    return f'dependency "{dep}" is not defined'
                continue
            except RPC_ERRORS:
                proxy = rpc(paths, 10.0)
                continue
            verdict, why = dependency_status(paths, info, condition)
            if verdict == "ok":
                del pending[dep]
            elif verdict == "blocked":
                return f'dependency "{dep}" {why}'
        if not pending:
            return ""
        time.sleep(POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    """Run process ``argv[1]`` of the stack at ``argv[0]``; returns an exit status only on failure."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        _say("usage: python -m angee_runtime_process.engine.launch <root> <process>")
        return 2
    root, name = os.path.abspath(args[0]), args[1]
    paths = EnginePaths.for_root(root)
    settings = read_settings(paths)
    process_file = settings.get("process_file") or os.path.join(root, "process-compose.yaml")
    try:
        spec = load_project(process_file).get(name)
        if spec is None:
            _say(f'{name}: not started: process "{name}" is not defined in {process_file}')
            return 2
        _restart_backoff(paths, spec)
        blocked = _await_dependencies(paths, spec)
        if blocked:
            clear_waiting(paths, name)
            _say(f"{name}: not started: {blocked}")
            return BLOCKED_EXIT
        base = {k: v for k, v in os.environ.items() if not k.startswith("SUPERVISOR_")}
        base.update(_read_runtime_env(settings.get("env_file", "")))
    except AngeeError as exc:
        clear_waiting(paths, name)
        _say(f"{name}: not started: {exc}")
        return 1
    env = process_env(spec, base)
    command = expand(spec.command, env)
    workdir = os.path.join(root, expand(spec.working_dir, env)) if spec.working_dir else root
    clear_waiting(paths, name)
    if not command.strip():
        _say(f"{name}: not started: no command")
        return 1
    try:
        os.chdir(workdir)
    except OSError as exc:
        _say(f"{name}: not started: working_dir {workdir}: {exc.strerror or exc}")
        return 1
    try:
        os.execvpe("sh", ["sh", "-c", command], env)
    except OSError as exc:
        _say(f"{name}: not started: sh: {exc.strerror or exc}")
        return 127
    return 0  # pragma: no cover - exec does not return


if __name__ == "__main__":
    sys.exit(main())
