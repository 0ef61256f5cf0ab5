"""Conformance suite every :class:`angee.contracts.SecretsBackend` implementation runs.

Usage (one subclass per backend, in a ``test_*.py`` file)::

    from tests.conformance.secrets_suite import SecretsBackendConformance

    class TestMyBackend(SecretsBackendConformance):
        @pytest.fixture
        def open_backend(self, tmp_path):
            return lambda: MyBackend(...)      # a FRESH instance over the same storage each call

        def stored_key(self, name):            # optional: what ``list()`` reports for ``name``
            return name

The suite stores values only through the backend contract (get/set/delete/list) and checks what a user
would notice: values come back byte-for-byte, deletes are idempotent, and everything survives reopening.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from angee.contracts import SecretsBackend

TRICKY_VALUES = [
    "plain",
    "with spaces inside",
    "  leading and trailing spaces  ",
    "single'quote",
    'double"quote',
    "both ' and \" quotes",
    "back\\slash and \\n not a newline",
    "line one\nline two\n",
    "carriage\r\nreturn",
    "tab\there",
    "$HOME ${VAR} $$",
    "# not a comment",
    "key=value=more",
    "`backticks`",
    "'wrapped in single quotes'",
    '"wrapped in double quotes"',
    "ünïcødé ✓ 日本語 😀",
    "\\x41 \\u00e9 \\101",
    "trailing backslash \\",
]


class SecretsBackendConformance:
    """Base class of the conformance tests; subclasses provide the ``open_backend`` fixture."""

    @pytest.fixture
    def open_backend(self) -> Callable[[], SecretsBackend]:
        """A callable returning a fresh backend instance over one storage shared by all calls."""
        raise NotImplementedError("override the open_backend fixture")

    @pytest.fixture
    def backend(self, open_backend: Callable[[], SecretsBackend]) -> SecretsBackend:
        return open_backend()

    def stored_key(self, name: str) -> str:
        """The key ``list()`` reports for secret ``name`` (env-file stores ``ANGEE_SECRET_<N>``)."""
        return name

    # ------------------------------------------------------------------ get / set

    def test_absent_secret_reads_as_none(self, backend: SecretsBackend) -> None:
        assert backend.get("never-set") is None

    def test_set_then_get_returns_the_value(self, backend: SecretsBackend) -> None:
        backend.set("db-password", "s3cr3t")
        assert backend.get("db-password") == "s3cr3t"

    def test_set_overwrites_the_previous_value(self, backend: SecretsBackend) -> None:
        backend.set("token", "first")
        backend.set("token", "second")
        assert backend.get("token") == "second"

    def test_secrets_are_independent(self, backend: SecretsBackend) -> None:
        backend.set("alpha", "a-value")
        backend.set("beta", "b-value")
        backend.set("alpha", "a-changed")
        assert backend.get("alpha") == "a-changed"
        assert backend.get("beta") == "b-value"

    @pytest.mark.parametrize("value", TRICKY_VALUES)
    def test_value_round_trips_exactly(self, open_backend: Callable[[], SecretsBackend], value: str) -> None:
        open_backend().set("tricky", value)
        assert open_backend().get("tricky") == value

    def test_many_tricky_values_side_by_side(self, open_backend: Callable[[], SecretsBackend]) -> None:
        writer = open_backend()
        for i, value in enumerate(TRICKY_VALUES):
            writer.set(f"tricky-{i:02d}", value)
        reader = open_backend()
        assert [reader.get(f"tricky-{i:02d}") for i in range(len(TRICKY_VALUES))] == TRICKY_VALUES

    def test_value_at_the_size_cap_round_trips(self, open_backend: Callable[[], SecretsBackend]) -> None:
        value = ("0123456789abcdef\n\"'\\é" * 4096)[: 65536 // 2]  # multi-byte chars, under the 64 KiB cap
        open_backend().set("large", value)
        assert open_backend().get("large") == value

    @pytest.mark.parametrize("name", ["api_key", "db.password", "Mixed-Case.name_1", "9lives"])
    def test_names_with_dots_dashes_and_underscores(self, backend: SecretsBackend, name: str) -> None:
        backend.set(name, f"value of {name}")
        assert backend.get(name) == f"value of {name}"

    # ------------------------------------------------------------------ delete

    def test_delete_removes_the_value(self, backend: SecretsBackend) -> None:
        backend.set("gone", "soon")
        backend.delete("gone")
        assert backend.get("gone") is None

    def test_delete_is_idempotent(self, backend: SecretsBackend) -> None:
        backend.set("twice", "x")
        backend.delete("twice")
        backend.delete("twice")
        backend.delete("never-existed")
        assert backend.get("twice") is None

    def test_delete_keeps_other_secrets(self, backend: SecretsBackend) -> None:
        backend.set("keep", "kept")
        backend.set("drop", "dropped")
        backend.delete("drop")
        assert backend.get("keep") == "kept"

    def test_set_after_delete_stores_again(self, backend: SecretsBackend) -> None:
        backend.set("phoenix", "one")
        backend.delete("phoenix")
        backend.set("phoenix", "two")
        assert backend.get("phoenix") == "two"

    # ------------------------------------------------------------------ list

    def test_list_shows_stored_keys_sorted(self, backend: SecretsBackend) -> None:
        for name in ["zeta", "alpha", "mid"]:
            backend.set(name, "v")
        listed = backend.list()
        assert listed == sorted(listed)
        expected = {self.stored_key(n) for n in ["zeta", "alpha", "mid"]}
        assert expected <= set(listed)

    def test_list_drops_deleted_keys(self, backend: SecretsBackend) -> None:
        backend.set("listed", "v")
        backend.set("unlisted", "v")
        backend.delete("unlisted")
        listed = backend.list()
        assert self.stored_key("listed") in listed
        assert self.stored_key("unlisted") not in listed

    def test_list_of_an_empty_store_is_empty(self, backend: SecretsBackend) -> None:
        assert backend.list() == []

    # ------------------------------------------------------------------ persistence and metadata

    def test_values_survive_reopening(self, open_backend: Callable[[], SecretsBackend]) -> None:
        first = open_backend()
        first.set("persisted", "still here")
        first.set("removed", "not here")
        first.delete("removed")
        second = open_backend()
        assert second.get("persisted") == "still here"
        assert second.get("removed") is None
        assert self.stored_key("persisted") in second.list()

    def test_two_open_instances_see_each_others_writes(
        self, open_backend: Callable[[], SecretsBackend]
    ) -> None:
        a, b = open_backend(), open_backend()
        a.set("shared", "from a")
        assert b.get("shared") == "from a"
        b.set("other", "from b")
        assert a.get("shared") == "from a"
        assert a.get("other") == "from b"

    def test_runtime_env_file_is_a_path_or_empty(self, backend: SecretsBackend) -> None:
        assert isinstance(backend.runtime_env_file(), str)

    def test_check_reports_a_known_status(self, backend: SecretsBackend) -> None:
        status, detail = backend.check()
        assert status in {"ok", "warn", "error"}
        assert isinstance(detail, str)

    def test_check_never_shows_values(self, backend: SecretsBackend) -> None:
        backend.set("hidden", "value-that-must-not-leak")
        _, detail = backend.check()
        assert "value-that-must-not-leak" not in detail
