"""Parsing ``docker ps -a --format '{{json .}}'`` into observed services (spec §5.8 status rules)."""

from __future__ import annotations

import json

import pytest
from angee_runtime_compose.compose import parse_labels, parse_ps_output

PROJECT = "com.docker.compose.project=demo-1b431952"


def row(service: str | None, **fields: str) -> dict:
    labels = [PROJECT] + ([f"com.docker.compose.service={service}"] if service else [])
    return {"ID": "abc123", "Labels": ",".join(labels), **fields}


def observed(*rows: object) -> list[tuple[str, str, str]]:
    text = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows)
    return [(o.name, o.state, o.health) for o in parse_ps_output(text)]


def test_state_is_taken_lower_cased_from_state() -> None:
    assert observed(
        row("web", State="running", Status="Up 3 minutes"),
        row("db", State="Exited", Status="Exited (0) 2 seconds ago"),
    ) == [("web", "running", ""), ("db", "exited", "")]


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("Up 3 minutes", "running"),
        ("Up Less than a second", "running"),
        ("Up 5 seconds (Paused)", "paused"),
        ("Exited (137) 4 hours ago", "exited"),
        ("Created", "created"),
        ("Restarting (1) 2 seconds ago", "restarting"),
        ("Dead", "dead"),
        ("Removal In Progress", ""),
    ],
)
def test_state_falls_back_to_the_status_text(status: str, state: str) -> None:
    assert observed(row("web", Status=status)) == [("web", state, "")]
    assert observed(row("web", State="", Status=status)) == [("web", state, "")]


@pytest.mark.parametrize(
    ("status", "health"),
    [
        ("Up 2 minutes (healthy)", "healthy"),
        ("Up 2 minutes (unhealthy)", "unhealthy"),
        ("Up 4 seconds (health: starting)", "starting"),
        ("Up 2 minutes", ""),
        ("Exited (0) 1 second ago", ""),
    ],
)
def test_health_comes_from_the_status_marker(status: str, health: str) -> None:
    assert observed(row("web", State="running", Status=status)) == [("web", "running", health)]


def test_bad_lines_and_rows_without_a_service_label_are_skipped() -> None:
    assert observed(
        "not json at all",
        "",
        "   ",
        '{"Labels": "com.docker.compose.service=half',
        "42",
        '"a string"',
        row(None, State="running"),
        {"State": "running", "Status": "Up"},
        row("web", State="running", Status="Up 1 second"),
    ) == [("web", "running", "")]


def test_a_json_array_line_is_accepted() -> None:
    line = json.dumps([row("web", State="running"), "junk", row("db", Status="Exited (1) now")])
    assert observed(line) == [("web", "running", ""), ("db", "exited", "")]


def test_labels_whose_values_hold_commas_keep_their_neighbours() -> None:
    labels = (
        "com.docker.compose.project.config_files=/r/a.yaml,/r/b.yaml,"
        "com.docker.compose.service=web,com.docker.compose.oneoff=False"
    )
    assert parse_labels(labels) == {
        "com.docker.compose.project.config_files": "/r/a.yaml,/r/b.yaml",
        "com.docker.compose.service": "web",
        "com.docker.compose.oneoff": "False",
    }
    assert observed({"Labels": labels, "State": "running"}) == [("web", "running", "")]


def test_labels_as_an_object_are_accepted() -> None:
    assert observed({"Labels": {"com.docker.compose.service": "web"}, "State": "created"}) == [
        ("web", "created", "")
    ]


def test_real_docker_20_10_line() -> None:
    line = (
        '{"Command":"\\"sleep 30\\"","CreatedAt":"2026-11-25 04:25:09 +0000 UTC","ID":"2edf732151ff",'
        '"Image":"angee-test-busybox:latest","Labels":"com.docker.compose.project=probex,'
        'com.docker.compose.service=a","LocalVolumes":"0","Mounts":"","Names":"probe-ps-x",'
        '"Networks":"bridge","Platform":null,"Ports":"","RunningFor":"1 second ago","Size":"0B",'
        '"State":"running","Status":"Up Less than a second"}'
    )
    assert observed(line) == [("a", "running", "")]
