"""Running one job now (spec manifest-and-runtime §8): substitution with real values, then the process.

Local jobs: argv executed directly (no shell) with env = process env, then ``env_file`` entries, then
``env``, then mount env vars; workdir per §4, empty → the root. Container jobs: ``docker run --rm``
through the container backend's ``run_job``. Output is stdout and stderr combined, in order, streamed
line by line; a non-zero exit raises ``RuntimeFailure('job "x" failed with exit code N', output=…)``.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from angee.errors import AngeeError, InvalidInput, RuntimeFailure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.contracts import Runtime, RuntimeStack
    from angee.manifest.model import Job, Manifest
    from angee.substitution import SubstitutionContext

Output = Callable[[str], None] | None
_SOURCE_REF = re.compile(r"\$\{\s*source[.:]([A-Za-z0-9][A-Za-z0-9_-]*)")


@dataclass
class JobCall:
    """A job with every string substituted in its job-run context."""

    name: str
    job: Job
    command: list[str]
    env: dict[str, str]
    mounts: list[str]
    workdir: str

    @property
    def where(self) -> str:
        return f"jobs.{self.name}"


def located(where: str, action: Callable[[], Any]) -> Any:
    """Run ``action``; a user error it raises is re-raised prefixed with the manifest key ``where``."""
    try:
        return action()
    except InvalidInput as err:
        raise InvalidInput(where, err.reason, message=f"{where}: {err.reason}") from None


def substituted(text: str, ctx: SubstitutionContext, where: str) -> str:
    """``substitute`` with errors as ``InvalidInput`` naming the key (never a secret value)."""
    from angee.substitution import SubstitutionError, substitute

    try:
        return substitute(text, ctx, where=where)
    except SubstitutionError as err:
        raise InvalidInput(where, err.reason, message=str(err)) from None
    except AngeeError as err:
        raise RuntimeFailure(f"{where}: {err.message}") from None


def substitute_job(
    manifest: Manifest, root: str, name: str, secrets: dict[str, str], inputs: dict[str, str]
) -> JobCall:
    """The job's ``command``, ``env``, ``mounts`` and ``workdir`` in the job-run context (real secret
    values, ``inputs``, name = job, ``$${…}`` → ``${…}``)."""
    from angee.substitution import compile_context

    job = manifest.jobs[name]
    ctx = compile_context(manifest, root, name, "job", secrets, mode="run", inputs=inputs)
    where = f"jobs.{name}"
    return JobCall(
        name=name,
        job=job,
        command=[substituted(arg, ctx, f"{where}.command[{i}]") for i, arg in enumerate(job.command)],
        env={key: substituted(job.env[key], ctx, f"{where}.env.{key}") for key in sorted(job.env)},
        mounts=[substituted(m, ctx, f"{where}.mounts[{i}]") for i, m in enumerate(job.mounts)],
        workdir=substituted(job.workdir, ctx, f"{where}.workdir"),
    )


def referenced_sources(manifest: Manifest, call: JobCall) -> list[str]:
    """Declared sources the job uses: ``source://N`` mounts/workdir and ``${source.N…}`` anywhere."""
    job = call.job
    names: list[str] = []
    for text in [*call.mounts, call.workdir, *job.command, *job.env.values(), *job.mounts, job.workdir]:
        if text.startswith("source://"):
            names.append(text[len("source://") :].split(":", 1)[0].split("/", 1)[0])
        names.extend(_SOURCE_REF.findall(text))
    return [n for n in dict.fromkeys(names) if n in manifest.sources]


def run_local(manifest: Manifest, root: str, call: JobCall, output: Output) -> str:
    """Execute a local job's argv directly with the §8 env layering; return its output."""
    from angee.mounts import local_mount_env, local_workdir
    from angee.paths import normalise
    from angee.secrets.envfile import read_env_file_lenient

    environ = dict(os.environ)
    if call.job.env_file:
        environ.update(read_env_file_lenient(normalise(os.path.join(root, call.job.env_file))))
    environ.update(call.env)
    for i, mount in enumerate(call.mounts):
        pair = located(f"{call.where}.mounts[{i}]", lambda m=mount: local_mount_env(root, manifest, m))
        if pair is not None:
            environ[pair[0]] = pair[1]
    cwd = located(f"{call.where}.workdir", lambda: local_workdir(root, manifest, call.workdir)) or root
    if not call.command:
        reason = f'job "{call.name}" with runtime local requires command'
        raise InvalidInput(f"{call.where}.command", reason, message=reason)
    if not os.path.isdir(cwd):
        raise RuntimeFailure(f'job "{call.name}": working directory {cwd} does not exist')
    try:
        process = subprocess.Popen(
            call.command,
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except OSError as err:
        raise RuntimeFailure(
            f'job "{call.name}": cannot run {call.command[0]}: {err.strerror or err}'
        ) from None
    chunks: list[str] = []
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace")
            chunks.append(line)
            if output is not None:
                output(line.rstrip("\r\n"))
        code = process.wait()
    except BaseException:  # Ctrl-C or a failing output callback: never leave the job running alone
        process.kill()
        process.wait()
        raise
    return _result(call.name, code, "".join(chunks))


def run_container(
    manifest: Manifest, root: str, call: JobCall, backend: Runtime, stack: RuntimeStack, output: Output
) -> str:
    """``docker run --rm`` via the container backend's ``run_job``: mounts resolved as for services, in
    order; env values travel in the docker process environment, never argv."""
    from angee.mounts import compose_volume, container_workdir

    if not call.job.image:
        message = f'job "{call.name}" requires image to run'
        raise InvalidInput(f"{call.where}.image", message, message=message)
    volumes = [
        located(f"{call.where}.mounts[{i}]", lambda m=m: compose_volume(root, manifest, m))
        for i, m in enumerate(call.mounts)
    ]
    workdir = located(f"{call.where}.workdir", lambda: container_workdir(call.workdir))
    run_job = getattr(backend, "run_job", None)
    if run_job is None:
        raise RuntimeFailure(f'runtime backend "{backend.name}" cannot run container jobs')
    code, text = run_job(stack, call.job.image, call.command, call.env, volumes, workdir, output=output)
    if text and not text.endswith("\n"):
        text += "\n"
    return _result(call.name, code, text)


def _result(name: str, code: int, text: str) -> str:
    if code != 0:
        raise RuntimeFailure(f'job "{name}" failed with exit code {code}', output=text)
    return text
