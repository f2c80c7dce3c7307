"""How ``--help`` shows parameters: the truth, once.

typer 0.29 prints ``<bool>`` in the type column of every on/off flag (a flag takes no
value, so that reads as if it wanted one) and wraps a required argument in braces in the
usage line (``{SOURCE}``, which reads as a choice). ``plain_help()`` makes a flag show no
type and a required argument its bare name; ``tests/test_cli_help.py`` checks every
command's help for both, and that no help repeats the choices its type already lists.
"""

from __future__ import annotations

from typing import Any

from typer import core


def _flag_type(self: core.TyperOption, ctx: Any) -> str | None:
    if self.is_flag and not self.count:
        return None
    return _option_type(self, ctx)


def _usage_name(self: core.TyperArgument) -> str:
    name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
    return name + ("..." if self.nargs != 1 else "")


_option_type = core.TyperOption.display_type_rich


def plain_help() -> None:
    """Patch typer's parameter display (idempotent; ``xianban.cli`` calls it on import)."""
    if core.TyperOption.display_type_rich is not _flag_type:
        core.TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]
        core.TyperArgument._usage_display_name = _usage_name  # type: ignore[method-assign]
