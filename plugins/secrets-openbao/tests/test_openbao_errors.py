"""Every OpenBao failure is one typed, clear line naming the address and path, never a value or token."""

from __future__ import annotations

import dataclasses

import pytest
from angee_secrets_openbao.backend import OpenBaoBackend
from conftest import TOKEN
from fake_openbao import FakeOpenBao, refusing_address, silent_address

from angee.errors import AngeeError, InvalidInput, RuntimeFailure

VALUE = "hunter2-super-secret"
OPS = {
    "get": lambda b: b.get("db"),
    "set": lambda b: b.set("db", VALUE),
    "delete": lambda b: b.delete("db"),
    "list": lambda b: b.list(),
}


def _error_of(op: str, backend) -> AngeeError:
    with pytest.raises(AngeeError) as info:
        OPS[op](backend)
    err = info.value
    assert isinstance(err, RuntimeFailure)
    assert VALUE not in str(err) and TOKEN not in str(err)
    assert "\n" not in str(err)
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    return err


@pytest.mark.parametrize("op", sorted(OPS))
def test_server_down_names_address_and_path(op: str, open_openbao) -> None:
    with refusing_address() as address:
        backend = open_openbao(address=address, token=TOKEN)
        err = _error_of(op, backend)
    where = "secret/angee" if op == "list" else "secret/angee/db"
    assert str(err) == f"openbao at {address} is not reachable ({where}): connection refused"


def test_server_not_answering_times_out(open_openbao) -> None:
    with silent_address() as address:
        backend = open_openbao(address=address, token=TOKEN)
        quick = OpenBaoBackend(backend.root, dataclasses.replace(backend.settings, timeout=0.2))
        err = _error_of("set", quick)
    assert str(err) == f"openbao at {address} is not reachable (secret/angee/db): timed out after 0.2s"


@pytest.mark.parametrize("op", sorted(OPS))
def test_wrong_token_is_rejected_clearly(op: str, openbao_server: FakeOpenBao, open_openbao) -> None:
    backend = open_openbao(address=openbao_server.address, token="s.expired-token")
    err = _error_of(op, backend)
    kind = "data" if op in ("get", "set") else "metadata"
    path = "secret/metadata/angee" if op == "list" else f"secret/{kind}/angee/db"
    assert str(err) == f"openbao rejected the token (403) for {path} at {openbao_server.address}"
    assert "s.expired-token" not in str(err)


def test_missing_token_says_so(openbao_server: FakeOpenBao, open_openbao) -> None:
    backend = open_openbao(address=openbao_server.address)
    err = _error_of("get", backend)
    assert str(err) == (
        f"openbao rejected the request (403) for secret/data/angee/db at {openbao_server.address}: "
        "no token configured (set secrets_backend.token or OPENBAO_TOKEN)"
    )


@pytest.mark.parametrize("op", sorted(OPS))
def test_sealed_server(op: str, openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_server.sealed = True
    err = _error_of(op, openbao_backend)
    where = "secret/angee" if op == "list" else "secret/angee/db"
    assert str(err) == f"openbao at {openbao_server.address} is sealed (503) ({where})"


@pytest.mark.parametrize("op", sorted(OPS))
def test_missing_mount(op: str, openbao_server: FakeOpenBao, open_openbao) -> None:
    backend = open_openbao(address=openbao_server.address, token=TOKEN, mount="kv")
    err = _error_of(op, backend)
    where = "kv/angee" if op == "list" else "kv/angee/db"
    assert str(err) == f'openbao mount "kv" does not exist at {openbao_server.address} ({where})'


def test_missing_mount_reported_as_a_preflight_failure(openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_server.override = (
        400,
        {
            "errors": [
                'preflight capability check returned 403, please ensure client\'s policies grant access to path "secret/"'
            ]
        },
    )
    err = _error_of("get", openbao_backend)
    assert str(err) == f'openbao mount "secret" does not exist at {openbao_server.address} (secret/angee/db)'


@pytest.mark.parametrize("status", [500, 429, 418, 400])
def test_other_statuses_name_the_status(status: int, openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_server.override = (status, {"errors": ["something broke"]})
    err = _error_of("get", openbao_backend)
    assert str(err) == (
        f"openbao request failed with status {status} for secret/data/angee/db at {openbao_server.address}: "
        "something broke"
    )


def test_a_server_echoing_the_value_does_not_leak_it(openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_server.override = (400, {"errors": [f"cannot store {VALUE}"]})
    err = _error_of("set", openbao_backend)
    assert (
        str(err)
        == f"openbao request failed with status 400 for secret/data/angee/db at {openbao_server.address}"
    )


def test_a_non_json_error_body_still_names_the_status(openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_server.override = (502, None)
    err = _error_of("list", openbao_backend)
    assert (
        str(err)
        == f"openbao request failed with status 502 for secret/metadata/angee at {openbao_server.address}"
    )


def test_address_is_required(open_openbao) -> None:
    with pytest.raises(InvalidInput) as info:
        open_openbao(token=TOKEN)
    assert str(info.value) == "openbao address is required"
    assert info.value.field == "secrets_backend.address"


def test_address_must_be_an_http_url(open_openbao) -> None:
    with pytest.raises(InvalidInput) as info:
        open_openbao(address="127.0.0.1:8200")
    assert str(info.value) == 'openbao address "127.0.0.1:8200" must start with http:// or https://'


def test_unset_variable_in_token_is_named(open_openbao) -> None:
    with pytest.raises(InvalidInput) as info:
        open_openbao(address="http://127.0.0.1:8200", token="${ANGEE_TEST_UNSET_BAO_TOKEN}")
    assert str(info.value) == 'openbao token: environment variable "ANGEE_TEST_UNSET_BAO_TOKEN" is not set'


def test_token_never_shows_in_repr(openbao_backend) -> None:
    assert TOKEN not in repr(openbao_backend)
    assert TOKEN not in repr(openbao_backend.settings)
