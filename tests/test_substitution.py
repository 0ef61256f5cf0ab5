"""The ``${…}`` substitution engine (spec manifest-and-runtime §3, §2.4, §1.2, §5.6)."""

from __future__ import annotations

import pytest

from angee.errors import AngeeError
from angee.manifest.model import (
    Job,
    Manifest,
    Operator,
    PersistPath,
    Port,
    PortLease,
    Route,
    Service,
    Source,
    StringList,
    Workspace,
)
from angee.substitution import (
    SubstitutionContext,
    SubstitutionError,
    compile_context,
    input_refs,
    lower,
    secret_env_var,
    secret_refs,
    slug,
    substitute,
    template_context,
    upper,
)

ROOT = "/srv/notes/.angee"


def tpl(inputs: dict[str, str] | None = None, **kw) -> SubstitutionContext:
    return template_context("ws1", inputs or {}, **kw)


def fails(text: str, ctx: SubstitutionContext, message: str) -> None:
    with pytest.raises(SubstitutionError) as info:
        substitute(text, ctx)
    assert str(info.value) == message


def demo_manifest() -> Manifest:
    return Manifest(
        name="Notes Demo",
        operator=Operator(url="https://op.example", domain="example.test"),
        ports={"api": Port(value=8101), "zero": Port(value=0)},
        persist={"data": PersistPath(subpath="state/data", scope="stack")},
        sources={
            "app": Source(kind="local", path=".."),
            "abs": Source(kind="local", path="/opt/code/./x"),
            "bare": Source(kind="local"),
            "repo": Source(kind="git", repo="https://git.example/r.git"),
            "cached": Source(kind="git", repo="https://git.example/c.git", cache_path="cache/c"),
        },
        workspaces={"feat": Workspace(template="ws"), "path": Workspace(template="ws")},
        services={
            "db": Service(
                runtime="container", image="postgres:16", ports=StringList(["127.0.0.1:5433:5432"])
            ),
            "web": Service(runtime="container", image="nginx", ports=StringList(["${ports.api}:80/tcp"])),
            "routed": Service(
                runtime="container", image="x", ports=StringList(["9000:9001"]), route=Route(port=7000)
            ),
            "ranged": Service(runtime="container", image="x", ports=StringList(["8000-8010:9000-9010/udp"])),
            "single": Service(runtime="container", image="x", ports=StringList(["6379"])),
            "noport": Service(runtime="container", image="x"),
            "api": Service(runtime="local", command=["serve"], ports=StringList(["${alloc.web}"])),
            "loop": Service(runtime="container", image="x", ports=StringList(["${service.db.port}"])),
            "broken": Service(runtime="container", image="x", ports=StringList(["${ports.nope}:80"])),
        },
        jobs={
            "migrate": Job(runtime="local", command=["migrate"]),
            "seed": Job(runtime="container", image="x"),
        },
        port_leases={
            "web": [
                PortLease(port=8201, owner="workspace/feat/web"),
                PortLease(port=8202, owner="service/api/web"),
            ],
            "other": [PortLease(port=9301, owner="service/db/other")],
        },
    )


def compiled(consumer: str = "web", kind: str = "service", secrets=None, **kw) -> SubstitutionContext:
    if secrets is None:
        secrets = {"db-password", "empty"}
    return compile_context(demo_manifest(), ROOT, consumer, kind, secrets, **kw)


# --- grammar -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["plain", "${}", "$VAR", "$$", "a { b } c", "}{", "${a{b}", "${", "$ {name}", "${name", "{name}"],
)
def test_non_expressions_are_literal(text):
    assert substitute(text, tpl()) == text


def test_expressions_are_replaced_in_place():
    assert substitute("<${name}>-${name}", tpl()) == "<ws1>-ws1"


def test_nested_looking_braces_evaluate_only_the_inner_expression():
    assert substitute("${a${name}}", tpl()) == "${aws1}"
    assert substitute("{${name}}", tpl()) == "{ws1}"


def test_escape_kept_in_runtime_files_and_unescaped_where_angee_is_last():
    text = "echo $${HOME} ${name} $${secret.x|slug}"
    assert substitute(text, compiled()) == "echo $${HOME} web $${secret.x|slug}"
    assert substitute(text, tpl()) == "echo ${HOME} ws1 ${secret.x|slug}"
    run = compiled("migrate", "job", secrets={}, mode="run")
    assert substitute(text, run) == "echo ${HOME} migrate ${secret.x|slug}"


def test_escape_after_an_extra_dollar():
    assert substitute("$$${name}", tpl()) == "$${name}"
    assert substitute("$$${name}", compiled()) == "$$${name}"


def test_path_and_filters_are_trimmed():
    assert substitute("${  inputs.n   |  upper  }", tpl({"n": "ab"})) == "AB"


def test_pipe_inside_quotes_or_parentheses_does_not_split():
    ctx = tpl({"v": "a|b c"})
    assert substitute("${inputs.v | replace('|', '-')}", ctx) == "a-b c"
    assert substitute("${inputs.v | replace(|, +)}", ctx) == "a+b c"
    assert substitute('${inputs.v | replace("|", "") | upper}', ctx) == "AB C"


def test_quoted_arguments_keep_whitespace_unquoted_are_trimmed():
    ctx = tpl({"v": "a b", "e": ""})
    assert substitute("${inputs.v | replace(' ', '_')}", ctx) == "a_b"
    assert substitute("${inputs.e | default(  x y  )}", ctx) == "x y"
    assert substitute("${inputs.e | default('  x  ')}", ctx) == "  x  "
    assert substitute("${inputs.v | replace( a , 'z,' )}", ctx) == "z, b"
    assert substitute('${inputs.e | default("")}|', ctx) == "|"


def test_empty_parentheses_mean_no_arguments():
    ctx = tpl({"v": "Hi"})
    assert substitute("${inputs.v | lower()}", ctx) == "hi"
    assert substitute("${inputs.v | required()}", ctx) == "Hi"
    fails("${inputs.v | default()}", ctx, "default requires one argument")


def test_filters_apply_left_to_right():
    ctx = tpl({"v": "Hello World"})
    assert substitute("${inputs.v | truncate(5) | upper}", ctx) == "HELLO"
    assert substitute("${inputs.v | upper | truncate(5)}", ctx) == "HELLO"
    assert substitute("${inputs.v | replace(World, x) | slug}", ctx) == "hello-x"


@pytest.mark.parametrize("text", ["${ }", "${|slug}", "${  | upper}"])
def test_empty_path(text):
    fails(text, tpl(), "empty substitution")


def test_path_without_dot():
    fails("${foo}", tpl(), 'unknown substitution "foo"')
    fails("${secret}", compiled(), 'unknown substitution "secret"')


def test_unknown_namespace():
    fails("${nope.x}", compiled(), 'unknown substitution namespace "nope"')
    fails("${name.x}", compiled(), 'unknown substitution namespace "name"')


def test_first_error_aborts_the_whole_string():
    ctx = tpl({"a": "1"})
    with pytest.raises(SubstitutionError) as info:
        substitute("${inputs.a} ${inputs.b} ${bad}", ctx)
    assert str(info.value) == 'input "b" is not set'


def test_error_is_typed_and_carries_the_field_path():
    with pytest.raises(SubstitutionError) as info:
        substitute("x ${ports.nope}", compiled(), where="services.web.env.X")
    err = info.value
    assert isinstance(err, AngeeError)
    assert str(err) == 'services.web.env.X: port "nope" is not declared'
    assert err.reason == 'port "nope" is not declared'
    assert str(err.at("outer")) == 'outer: services.web.env.X: port "nope" is not declared'


# --- namespaces ----------------------------------------------------------------------------------


def test_name_is_the_context_name():
    assert substitute("${name}", compiled("migrate", "job")) == "migrate"


def test_secret_placeholder_in_runtime_files():
    ctx = compiled()
    expected = "postgres://u:${ANGEE_SECRET_DB_PASSWORD}@db"
    assert substitute("postgres://u:${secret.db-password}@db", ctx) == expected
    assert substitute("${secret:db-password}", ctx) == "${ANGEE_SECRET_DB_PASSWORD}"
    fails("${secret.missing}", ctx, 'secret "missing" is not resolved')
    fails("${secret:missing}", ctx, 'secret "missing" is not resolved')


def test_secret_value_in_job_run():
    ctx = compiled("migrate", "job", secrets={"db-password": "s3cr3t"}, mode="run")
    assert substitute("${secret.db-password}", ctx) == "s3cr3t"
    assert substitute("${secret:db-password | upper | b64encode}", ctx) == "UzNDUjNU"
    fails("${secret.other}", ctx, 'secret "other" is not resolved')


def test_job_run_needs_secret_values():
    with pytest.raises(ValueError):
        compile_context(demo_manifest(), ROOT, "migrate", "job", {"a"}, mode="run")


def test_secret_placeholder_filters_only_default_and_required():
    ctx = compiled(secrets={"db-password": "pw", "blank": ""})
    assert substitute("${secret.db-password | default(x) | required}", ctx) == "${ANGEE_SECRET_DB_PASSWORD}"
    assert substitute("${secret.blank | default(fallback)}", ctx) == "fallback"
    assert substitute("${secret.blank | default(v) | required}", ctx) == "v"
    fails("${secret.blank | required}", ctx, "required value is empty")
    fails("${secret.blank | required('db password missing')}", ctx, "db password missing")
    not_allowed = "filters other than default/required are not allowed on secret references in runtime files"
    fails("${secret.db-password | upper}", ctx, not_allowed)
    fails("${secret.db-password | bogus}", ctx, not_allowed)
    fails("${secret.db-password | default}", ctx, "default requires one argument")


def test_secret_placeholder_filters_with_names_only():
    ctx = compiled(secrets={"db-password"})
    assert substitute("${secret.db-password | required}", ctx) == "${ANGEE_SECRET_DB_PASSWORD}"
    assert substitute("${secret.db-password | default(x)}", ctx) == "${ANGEE_SECRET_DB_PASSWORD}"


def test_ports():
    ctx = compiled()
    assert substitute("${ports.api}", ctx) == "8101"
    assert substitute("${ports.zero}", ctx) == "0"
    fails("${ports.web}", ctx, 'port "web" is not declared')


def test_alloc_is_the_service_own_leases():
    assert substitute("${alloc.web}", compiled("api")) == "8202"
    assert substitute("${alloc.other}", compiled("db")) == "9301"
    fails("${alloc.web}", compiled("db"), 'allocation "web" is not declared')
    fails("${alloc.web}", compiled("migrate", "job"), 'allocation "web" is not declared')


def test_alloc_in_template_context():
    ctx = tpl(allocations={"web": 8201})
    assert substitute("${alloc.web}", ctx) == "8201"
    fails("${alloc.db}", ctx, 'allocation "db" is not declared')


def test_source_host_paths():
    ctx = compiled()
    assert substitute("${source.app}", ctx) == "/srv/notes"
    assert substitute("${source.app.path}", ctx) == "/srv/notes"
    assert substitute("${source.abs}", ctx) == "/opt/code/x"
    assert substitute("${source.bare}", ctx) == "/srv/notes/.angee/sources/bare"
    assert substitute("${source.repo.path}", ctx) == "/srv/notes/.angee/sources/repo"
    assert substitute("${source.cached}", ctx) == "/srv/notes/.angee/cache/c"
    fails("${source.nope}", ctx, 'source "nope" is not known')
    fails("${source.app.url}", ctx, 'unknown source field "url"')


def test_source_path_collapses_leading_double_slash():
    manifest = Manifest(name="x", sources={"s": Source(kind="local", path="//data//x/")})
    ctx = compile_context(manifest, "/r", "w", "service", set())
    assert substitute("${source.s}", ctx) == "/data/x"


def test_workspace_records():
    ctx = compiled()
    assert substitute("${workspace.feat}", ctx) == "/srv/notes/.angee/workspaces/feat"
    assert substitute("${workspace.feat.path}", ctx) == "/srv/notes/.angee/workspaces/feat"
    assert substitute("${workspace.path}", ctx) == "/srv/notes/.angee/workspaces/path"
    fails("${workspace.nope}", ctx, 'workspace "nope" is not known')
    fails("${workspace.feat.branch}", ctx, 'unknown workspace field "branch"')


def test_workspace_path_and_name_in_template_contexts():
    ctx = tpl(workspace_path="/r/workspaces/ws1", workspace_name="ws1", manifest=demo_manifest(), root="/r")
    assert substitute("${workspace.path}/inner", ctx) == "/r/workspaces/ws1/inner"
    assert substitute("agent-${workspace.name}", ctx) == "agent-ws1"
    assert substitute("${workspace.feat}", ctx) == "/r/workspaces/feat"
    fails("${workspace.path}", tpl(), 'workspace "path" is not known')


def test_persist_under_the_overlay_parent_or_the_root_itself():
    assert substitute("${persist.data}", compiled()) == "/srv/notes/state/data"
    ctx = compile_context(demo_manifest(), "/srv/instance", "web", "service", set())
    assert substitute("${persist.data}", ctx) == "/srv/instance/state/data"
    fails("${persist.nope}", ctx, 'persist path "nope" is not known')


def test_operator_fields():
    ctx = compiled()
    assert substitute("${operator.url} ${operator.domain}", ctx) == "https://op.example example.test"
    empty = compile_context(Manifest(name="x"), ROOT, "w", "service", set())
    assert substitute("[${operator.url}]", empty) == "[]"
    fails("${operator.token_secret}", ctx, 'unknown operator field "token_secret"')


def test_inputs():
    ctx = tpl({"name": "Ada", "blank": ""})
    assert substitute("${inputs.name}", ctx) == "Ada"
    assert substitute("[${inputs.blank}]", ctx) == "[]"
    fails("${inputs.missing}", ctx, 'input "missing" is not set')
    fails("${inputs.missing | upper}", ctx, 'input "missing" is not set')


def test_unset_input_with_default_or_required_in_the_chain_reads_empty():
    ctx = tpl({})
    assert substitute("${inputs.title | default(untitled)}", ctx) == "untitled"
    assert substitute("${inputs.title | upper | default(x)}", ctx) == "x"
    fails("${inputs.title | required('title is needed')}", ctx, "title is needed")
    fails("${inputs.title | required}", ctx, "required value is empty")


def test_optional_inputs_read_empty():
    ctx = tpl({}, optional_inputs={"note"})
    assert substitute("[${inputs.note}]", ctx) == "[]"


def test_no_inputs_at_compile_time_even_with_default():
    fails("${inputs.x | default(a)}", compiled(), 'input "x" is not set')


def test_job_run_sees_caller_inputs():
    ctx = compiled("migrate", "job", secrets={}, mode="run", inputs={"target": "v2"})
    assert substitute("migrate --to ${inputs.target}", ctx) == "migrate --to v2"


def test_template_context_has_only_its_namespaces():
    ctx = tpl(manifest=demo_manifest(), root=ROOT)
    fails("${ports.api}", ctx, 'unknown substitution namespace "ports"')
    fails("${secret.x}", ctx, 'unknown substitution namespace "secret"')
    fails("${service.db}", ctx, 'unknown substitution namespace "service"')


# --- service facts -------------------------------------------------------------------------------


def test_service_facts_container_to_container():
    ctx = compiled("web")
    assert substitute("${service.db.host}", ctx) == "db"
    assert substitute("${service.db.port}", ctx) == "5432"
    assert substitute("${service.db.url}", ctx) == "http://db:5432"
    assert substitute("${service.db}", ctx) == "http://db:5432"
    assert substitute("${service.routed.port}", ctx) == "7000"
    assert substitute("${service.ranged.port}", ctx) == "9000"
    assert substitute("${service.single.port}", ctx) == "6379"
    assert substitute("${service.web.port}", compiled("db")) == "80"


def test_service_facts_from_a_container_job():
    assert substitute("${service.db}", compiled("seed", "job")) == "http://db:5432"


def test_service_facts_from_a_local_consumer():
    ctx = compiled("api")
    assert substitute("${service.db.host}", ctx) == "127.0.0.1"
    assert substitute("${service.db.port}", ctx) == "5433"
    assert substitute("${service.db}", ctx) == "http://127.0.0.1:5433"
    assert substitute("${service.web.url}", ctx) == "http://127.0.0.1:8101"
    assert substitute("${service.routed.port}", ctx) == "9000"
    assert substitute("${service.ranged.port}", ctx) == "8000"
    assert substitute("${service.single.port}", ctx) == "6379"
    job = compiled("migrate", "job")
    assert substitute("${service.db.port}", job) == "5433"


def test_local_target_ports_resolved_in_its_own_context():
    # api's ports are "${alloc.web}": its own lease (8202), not the consumer's.
    assert substitute("${service.api}", compiled("db")) == "http://127.0.0.1:8202"


def test_service_without_port():
    ctx = compiled("web")
    assert substitute("${service.noport}", ctx) == "noport"
    assert substitute("[${service.noport.url}]", ctx) == "[]"
    assert substitute("${service.noport}", compiled("api")) == "127.0.0.1"
    fails("${service.noport.port}", ctx, 'service "noport" has no port')


def test_service_errors():
    ctx = compiled("web")
    fails("${service.nope}", ctx, 'service "nope" is not known')
    fails("${service.migrate}", ctx, 'service "migrate" is not known')
    fails("${service.db.ip}", ctx, 'unknown service field "ip"')
    fails("${service.loop.port}", ctx, 'services.loop.ports[0]: unknown substitution namespace "service"')
    fails("${service.broken}", ctx, 'services.broken.ports[0]: port "nope" is not declared')


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Feat/Issue 123", "feat-issue-123"),
        ("  Tom & Jerry  ", "tom-and-jerry"),
        ("me@host", "meathost"),
        ('it\'s "quoted" l’avion', "its-quoted-lavion"),
        ("a‒b–c—d―e", "a-b-c-d-e"),
        ("Crème Brûlée", "creme-brulee"),
        ("snake_case_ok", "snake_case_ok"),
        ("__-x--y-__", "x-y"),
        ("Straße", "strasse"),
        ("!!!", ""),
    ],
)
def test_slug(raw, expected):
    assert slug(raw) == expected
    assert substitute("${inputs.v | slug}", tpl({"v": raw})) == expected


def test_simple_case_mapping():
    assert upper("straße") == "STRAßE"
    assert lower("ÀB İ") == "àb i"
    assert upper("ﬁ ᾳ") == "ﬁ ᾼ"
    assert substitute("${inputs.v | upper}", tpl({"v": "ß"})) == "ß"
    assert substitute("${inputs.v | lower}", tpl({"v": "ÉCOLE"})) == "école"


def test_local_part():
    ctx = tpl({"mail": "ada@example.com", "plain": "ada", "two": "a@b@c"})
    assert substitute("${inputs.mail | local_part}", ctx) == "ada"
    assert substitute("${inputs.plain | local_part}", ctx) == "ada"
    assert substitute("${inputs.two | local_part}", ctx) == "a"


def test_truncate():
    ctx = tpl({"v": "héllo"})
    assert substitute("${inputs.v | truncate(2)}", ctx) == "hé"
    assert substitute("${inputs.v | truncate(+3)}", ctx) == "hél"
    assert substitute("${inputs.v | truncate(0)}", ctx) == ""
    assert substitute("${inputs.v | truncate(99)}", ctx) == "héllo"
    fails("${inputs.v | truncate(-1)}", ctx, 'invalid truncate length "-1"')
    fails("${inputs.v | truncate(x)}", ctx, 'invalid truncate length "x"')
    fails("${inputs.v | truncate}", ctx, "truncate requires one argument")
    fails("${inputs.v | truncate(1, 2)}", ctx, "truncate requires one argument")


def test_default():
    ctx = tpl({"v": "set", "e": ""})
    assert substitute("${inputs.v | default(x)}", ctx) == "set"
    assert substitute("${inputs.e | default(x)}", ctx) == "x"
    fails("${inputs.e | default}", ctx, "default requires one argument")
    fails("${inputs.e | default(a, b)}", ctx, "default requires one argument")


def test_required():
    ctx = tpl({"v": "set", "e": ""})
    assert substitute("${inputs.v | required}", ctx) == "set"
    assert substitute("${inputs.v | required(msg)}", ctx) == "set"
    fails("${inputs.e | required}", ctx, "required value is empty")
    fails("${inputs.e | required(name is needed)}", ctx, "name is needed")
    fails("${inputs.v | required(a, b)}", ctx, "required accepts zero or one argument")


def test_b64encode():
    ctx = tpl({"v": "héllo?", "e": ""})
    assert substitute("${inputs.v | b64encode}", ctx) == "aMOpbGxvPw=="
    assert substitute("[${inputs.e | b64encode}]", ctx) == "[]"


def test_replace():
    ctx = tpl({"v": "a.b.c"})
    assert substitute("${inputs.v | replace(., /)}", ctx) == "a/b/c"
    assert substitute("${inputs.v | replace(., '')}", ctx) == "abc"
    fails("${inputs.v | replace(.)}", ctx, "replace requires two arguments")
    fails("${inputs.v | replace('', x)}", ctx, "replace requires a non-empty search string")


def test_unknown_filter():
    ctx = tpl({"v": "x"})
    fails("${inputs.v | capitalize}", ctx, 'unknown filter "capitalize"')
    fails("${inputs.v | trunc(1)}", ctx, 'unknown filter "trunc"')
    fails("${inputs.v | slug(x)}", ctx, "slug accepts no arguments")


# --- secret helpers ------------------------------------------------------------------------------


def test_secret_refs_distinct_first_seen_order():
    refs = secret_refs(
        "postgres://${secret.db-pass}@${secret:api_key | default(x)}",
        "${secret.db-pass} ${secret.} ${secret:} $${secret.escaped} ${ports.api} ${secret.z.y}",
        "${ secret.late | required }",
    )
    assert refs == ["db-pass", "api_key", "z.y", "late"]


def test_input_refs():
    assert input_refs("run ${inputs.target}", "${inputs.target|slug} $${inputs.no}") == ["target"]
    assert input_refs("${name}") == []


@pytest.mark.parametrize(
    ("name", "var"),
    [
        ("postgres-password", "ANGEE_SECRET_POSTGRES_PASSWORD"),
        ("db.pass_2", "ANGEE_SECRET_DB_PASS_2"),
        ("tok-", "ANGEE_SECRET_TOK"),
        ("clé", "ANGEE_SECRET_CL"),
        ("a.é.b", "ANGEE_SECRET_A___B"),
        ("-lead", "ANGEE_SECRET__LEAD"),
    ],
)
def test_secret_env_var(name, var):
    assert secret_env_var(name) == var
