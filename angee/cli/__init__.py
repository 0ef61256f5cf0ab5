"""The ``angee`` command line (click): thin adapters over :class:`angee.platform.Platform`.

Entry point: :func:`angee.cli.main.main`. Shared helpers: :mod:`angee.cli.context`.
"""
