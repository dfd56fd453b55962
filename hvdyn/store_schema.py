"""Compatibility: the schema moved to `hvdyn.history.schema`; import from there."""

from __future__ import annotations

from hvdyn.history.schema import MIGRATIONS, migrate

__all__ = ["MIGRATIONS", "migrate"]
