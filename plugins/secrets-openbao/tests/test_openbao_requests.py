"""The OpenBao backend sends exactly the KV v2 requests of spec §7.4 and reads the answers right."""

from __future__ import annotations

from conftest import TOKEN
from fake_openbao import FakeOpenBao


def test_set_posts_the_value_under_data_with_the_token(openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_backend.set("db", "s3cr3t value")

    [req] = openbao_server.requests
    assert (req.method, req.path, req.query) == ("POST", "/v1/secret/data/angee/db", {})
    assert req.body == {"data": {"value": "s3cr3t value"}}
    assert req.header("X-Vault-Token") == TOKEN
    assert req.header("Content-Type") == "application/json"
    assert openbao_server.read("secret", "angee/db") == {"value": "s3cr3t value"}


def test_get_reads_data_data_value(openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_server.put("secret", "angee/api_key", {"value": "k-123"})

    assert openbao_backend.get("api_key") == "k-123"
    [req] = openbao_server.requests
    assert (req.method, req.path, req.query, req.body) == ("GET", "/v1/secret/data/angee/api_key", {}, None)
    assert req.header("X-Vault-Token") == TOKEN


def test_get_of_an_absent_secret_is_none(openbao_backend, openbao_server: FakeOpenBao) -> None:
    assert openbao_backend.get("missing") is None
    assert [r.path for r in openbao_server.requests] == ["/v1/secret/data/angee/missing"]


def test_get_returns_the_latest_version(openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_backend.set("db", "one")
    openbao_backend.set("db", "two")

    assert openbao_backend.get("db") == "two"
    assert openbao_server.version_count("secret", "angee/db") == 2


def test_delete_removes_metadata_and_every_version(openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_backend.set("db", "one")
    openbao_backend.set("db", "two")
    openbao_server.clear_requests()

    openbao_backend.delete("db")

    [req] = openbao_server.requests
    assert (req.method, req.path, req.body) == ("DELETE", "/v1/secret/metadata/angee/db", None)
    assert req.header("X-Vault-Token") == TOKEN
    assert openbao_server.version_count("secret", "angee/db") == 0
    assert openbao_backend.get("db") is None


def test_delete_is_idempotent_and_a_404_is_fine(openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_backend.delete("never-set")
    openbao_server.override = (404, {"errors": []})
    openbao_backend.delete("never-set")


def test_list_uses_the_list_method_on_metadata(openbao_backend, openbao_server: FakeOpenBao) -> None:
    for name in ("zeta", "alpha", "mid.dle"):
        openbao_backend.set(name, "v")
    openbao_server.put("secret", "angee/folder/nested", {"value": "v"})
    openbao_server.put("secret", "other/outside", {"value": "v"})
    openbao_server.clear_requests()

    assert openbao_backend.list() == ["alpha", "mid.dle", "zeta"]
    [req] = openbao_server.requests
    assert (req.method, req.path, req.query) == ("LIST", "/v1/secret/metadata/angee", {})
    assert req.header("X-Vault-Token") == TOKEN


def test_list_of_an_empty_path_is_empty(openbao_backend, openbao_server: FakeOpenBao) -> None:
    assert openbao_backend.list() == []
    assert [(r.method, r.path) for r in openbao_server.requests] == [("LIST", "/v1/secret/metadata/angee")]


def test_mount_and_path_are_trimmed_of_slashes(openbao_server: FakeOpenBao, open_openbao) -> None:
    openbao_server.mounts.add("kv/team")
    backend = open_openbao(
        address=openbao_server.address + "/", token=TOKEN, mount="/kv/team/", path="/apps/web/"
    )

    backend.set("db", "v")
    assert backend.get("db") == "v"
    assert backend.list() == ["db"]
    backend.delete("db")

    assert [(r.method, r.path) for r in openbao_server.requests] == [
        ("POST", "/v1/kv/team/data/apps/web/db"),
        ("GET", "/v1/kv/team/data/apps/web/db"),
        ("LIST", "/v1/kv/team/metadata/apps/web"),
        ("DELETE", "/v1/kv/team/metadata/apps/web/db"),
    ]


def test_no_token_sends_no_token_header(open_openbao, monkeypatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "must-not-be-used")
    with FakeOpenBao(token=None) as server:
        backend = open_openbao(address=server.address)
        backend.set("db", "v")
        assert backend.get("db") == "v"
    assert all(r.header("X-Vault-Token") is None for r in server.requests)


def test_address_and_token_fall_back_to_the_environment(
    openbao_server: FakeOpenBao, open_openbao, monkeypatch
) -> None:
    monkeypatch.setenv("OPENBAO_ADDR", openbao_server.address)
    monkeypatch.setenv("OPENBAO_TOKEN", TOKEN)
    backend = open_openbao()

    backend.set("db", "v")
    assert openbao_server.requests[0].header("X-Vault-Token") == TOKEN


def test_variables_in_address_and_token_are_expanded(
    openbao_server: FakeOpenBao, open_openbao, monkeypatch
) -> None:
    port = openbao_server.address.rsplit(":", 1)[1]
    monkeypatch.setenv("BAO_PORT", port)
    monkeypatch.setenv("MY_BAO_TOKEN", TOKEN)
    backend = open_openbao(address="http://127.0.0.1:${BAO_PORT}", token="${MY_BAO_TOKEN}")

    backend.set("db", "v")
    assert backend.get("db") == "v"
    assert openbao_server.requests[0].header("X-Vault-Token") == TOKEN


def test_values_round_trip_unchanged(openbao_backend) -> None:
    value = "line1\nline2 'q' \"dq\" \\ $HOME ünïcödé 🔑"
    openbao_backend.set("tricky", value)
    assert openbao_backend.get("tricky") == value
