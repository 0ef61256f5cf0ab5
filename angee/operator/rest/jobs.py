"""Job routes: list, run (output as text), logs (always 501)."""

from __future__ import annotations

from flask import Response

from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import call, read_body, reply, route, text_reply
from angee.operator.rest import schemas as s

bp = make_blueprint("jobs", "Jobs")

JOB_LOGS_MESSAGE = "job logs are returned by job run"


@route(bp, "jobList", response=s.JobState(), many=True)
def job_list() -> Response:
    """Every declared job with its runtime, by name."""
    return reply(call("jobList"))


@route(bp, "jobRun", body=s.InputsBody())
def job_run(name: str) -> Response:
    """Run a job and return its captured output; a failing job is a 500 whose ``output`` holds it."""
    body = read_body(s.InputsBody())
    return text_reply(call("jobRun", name, inputs=body.get("inputs") or {}))


@route(bp, "jobLogs")
def job_logs(name: str) -> Response:
    """Not available: job output is returned by the run itself."""
    return reply({"error": JOB_LOGS_MESSAGE}, 501)
