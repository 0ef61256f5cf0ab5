"""Workspace building blocks used by :mod:`angee.platform.workspaces` (spec templates-workspaces-git §5).

- :mod:`angee.workspaces.durations` — the ``90s``/``1h30m`` duration grammar, TTL parsing;
- :mod:`angee.workspaces.naming` — explicit and ``instance_naming`` names and their rules;
- :mod:`angee.workspaces.slots` — slot resolution and materialisation (mount, worktree, clone);
- :mod:`angee.workspaces.journal` — the crash-safe create journal and the test pause hook;
- :mod:`angee.workspaces.status` — slot/workspace status, expiry, ``mounted_by``;
- :mod:`angee.workspaces.plan` — the workspace render plan (template + chain layers).

Workspaces are a file primitive: nothing here starts or stops services.
"""
