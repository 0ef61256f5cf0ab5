"""Angee bundled plugin: Git source kind: cache, worktrees, slots, convergence operations."""
