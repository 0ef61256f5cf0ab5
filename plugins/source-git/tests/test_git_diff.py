"""Diffs parsed into DiffFile/DiffHunk (templates-workspaces-git §4.3), from real repositories."""

from __future__ import annotations

from pathlib import Path

from angee_source_git.diff import diff, parse_diff
from git_testlib import Repos, commit, sh

from angee.api import to_wire


def by_path(files: list) -> dict[str, dict]:
    return {f.new_path or f.old_path: to_wire(f) for f in files}


def base_repo(repos: Repos) -> Path:
    clone = repos.clone(repos.remote(), "app")
    commit(
        clone,
        {
            "keep.txt": "one\ntwo\nthree\n",
            "gone.txt": "bye\n",
            "old name.txt": "".join(f"line {i}\n" for i in range(20)),
            "logo.bin": bytes(range(256)),
            "tail.txt": "no newline",
        },
        "base",
    )
    return clone


def test_working_tree_vs_head_includes_staged_and_never_untracked(repos: Repos) -> None:
    clone = base_repo(repos)
    (clone / "keep.txt").write_text("one\nTWO\nthree\n")  # unstaged modification
    (clone / "staged.txt").write_text("fresh\n")
    sh(clone, "add", "staged.txt")  # staged new file
    (clone / "gone.txt").unlink()  # unstaged deletion
    sh(clone, "mv", "old name.txt", "new name.txt")  # staged rename
    (clone / "logo.bin").write_bytes(bytes(reversed(range(256))))
    (clone / "tail.txt").write_text("no newline, still")
    (clone / "untracked.txt").write_text("never shown\n")

    files = by_path(diff(str(clone)))

    assert sorted(files) == ["gone.txt", "keep.txt", "logo.bin", "new name.txt", "staged.txt", "tail.txt"]
    assert files["keep.txt"] == {
        "old_path": "keep.txt",
        "new_path": "keep.txt",
        "mode": "100644",
        "is_binary": False,
        "is_new": False,
        "is_deleted": False,
        "is_rename": False,
        "hunks": [{"old_start": 1, "old_lines": 3, "new_start": 1, "new_lines": 3, "body": " one\n-two\n+TWO\n three\n"}],
    }  # fmt: skip
    staged = files["staged.txt"]
    assert "old_path" not in staged and staged["new_path"] == "staged.txt"
    assert staged["is_new"] is True and staged["mode"] == "100644"
    # a one-line hunk: "@@ -0,0 +1 @@" → the missing count defaults to 1
    assert staged["hunks"] == [
        {"old_start": 0, "old_lines": 0, "new_start": 1, "new_lines": 1, "body": "+fresh\n"}
    ]
    gone = files["gone.txt"]
    assert gone["old_path"] == "gone.txt" and "new_path" not in gone
    assert gone["is_deleted"] is True and gone["mode"] == "100644"
    assert gone["hunks"][0]["body"] == "-bye\n"
    renamed = files["new name.txt"]
    assert renamed["old_path"] == "old name.txt" and renamed["is_rename"] is True and renamed["hunks"] == []
    binary = files["logo.bin"]
    assert binary["is_binary"] is True and binary["hunks"] == []
    tail = files["tail.txt"]["hunks"][0]
    assert tail["body"] == "-no newline\n+no newline, still\n"  # "\ No newline at end of file" dropped
    assert (tail["old_lines"], tail["new_lines"]) == (1, 1)


def test_head_vs_ref_and_hunk_headers(repos: Repos) -> None:
    clone = base_repo(repos)
    source = "def first():\n" + "".join(f"    x{i} = {i}\n" for i in range(12)) + "    return 0\n"
    commit(clone, {"code.py": source}, "code")
    sh(clone, "tag", "before")
    commit(clone, {"code.py": source.replace("return 0", "return 1")}, "change")
    (clone / "code.py").write_text("uncommitted\n")  # a working-tree change is ignored with a ref

    [changed] = diff(str(clone), "before")
    hunk = changed.hunks[0]
    # HEAD → ref: the ref's content is the "new" side
    assert hunk.body.endswith("-    return 1\n+    return 0\n")
    assert hunk.header == "def first():"
    assert (hunk.old_start, hunk.old_lines, hunk.new_start, hunk.new_lines) == (11, 4, 11, 4)


def test_mode_change_reports_the_new_mode(repos: Repos) -> None:
    clone = base_repo(repos)
    (clone / "keep.txt").chmod(0o755)
    [f] = diff(str(clone))
    assert (f.mode, f.hunks, f.old_path, f.new_path) == ("100755", [], "keep.txt", "keep.txt")


def test_clean_tree_has_no_diff(repos: Repos) -> None:
    clone = base_repo(repos)
    (clone / "untracked.txt").write_text("x\n")
    assert diff(str(clone)) == []


def test_parser_reads_bodies_by_count_and_unquotes_paths() -> None:
    text = (
        'diff --git "a/tab\\there" "b/tab\\there"\n'
        "index 1111111..2222222 100644\n"
        '--- "a/tab\\there"\n'
        '+++ "b/tab\\there"\n'
        "@@ -1,4 +1,2 @@ header text  \n"
        "--- a/looks-like-a-header\n"
        " context\n"
        "\n"
        "-removed\n"
        "diff --git a/caf\303\251 b/caf\303\251\n".encode("latin-1").decode("utf-8")
        + "new file mode 100755\n"
        "index 0000000..3333333\n"
        "--- /dev/null\n"
        "+++ b/café\n"
        "@@ -0,0 +1 @@\n"
        "+x\n"
        "\\ No newline at end of file\n"
        "diff --git a/with space b/with space\n"
        "deleted file mode 100644\n"
        "index 4444444..0000000\n"
        "Binary files a/with space and /dev/null differ\n"
    )
    first, second, third = (to_wire(f) for f in parse_diff(text))
    assert first["old_path"] == first["new_path"] == "tab\there"
    assert first["hunks"] == [
        {
            "old_start": 1,
            "old_lines": 4,
            "new_start": 1,
            "new_lines": 2,
            "header": "header text",
            "body": "--- a/looks-like-a-header\n context\n \n-removed\n",
        }
    ]
    assert second == {
        "new_path": "café",
        "mode": "100755",
        "is_binary": False,
        "is_new": True,
        "is_deleted": False,
        "is_rename": False,
        "hunks": [{"old_start": 0, "old_lines": 0, "new_start": 1, "new_lines": 1, "body": "+x\n"}],
    }
    assert third["old_path"] == "with space" and "new_path" not in third
    assert third["is_binary"] and third["is_deleted"] and third["hunks"] == []
