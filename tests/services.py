"""Missing services: a skip on a developer's machine, a failure in CI (never a silent pass)."""

from __future__ import annotations

import os

import pytest


def require_service(name: str, available: bool, why: str = "") -> None:
    if available:
        return
    message = f"{name} is not available{': ' + why if why else ''}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: a missing service is a failure)")
    pytest.skip(message)
