"""Every action the code writes to the audit log has a Chinese label on the audit page.

The actions are found in the source, not listed by hand: every string passed as an
``action`` argument (by keyword, or by position to a function of the same module whose
parameter is called ``action``) or assigned to a variable called ``action``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from console.rendering import AUDIT_ACTION_LABELS, audit_action
from xianban.settings import ROOT

PACKAGES = ("console", "crawlers", "case_opener", "reports", "verifier", "xianban", "leadfinder")


def _strings(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)


def _action_values(node: ast.AST, params: dict[str, list[str]]) -> list[ast.AST]:
    """The expressions given as an ``action`` at this node, if any."""
    if isinstance(node, ast.keyword):
        return [node.value] if node.arg == "action" else []
    if isinstance(node, ast.Assign):
        named = any(isinstance(t, ast.Name) and t.id == "action" for t in node.targets)
        return [node.value] if named else []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        names = params.get(node.func.id, [])
        return [a for a, n in zip(node.args, names, strict=False) if n == "action"]
    return []


def audited_actions() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = str(path.relative_to(ROOT))
            params = {
                node.name: [a.arg for a in node.args.args]
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            for node in ast.walk(tree):
                for value in _action_values(node, params):
                    for code in _strings(value):
                        found.setdefault(code, where)
    return found


def test_every_audited_action_has_a_chinese_label() -> None:
    found = audited_actions()
    assert {"lead.confirmed", "source.paused", "login", "api.token.issue"} <= set(found)
    missing = {code: where for code, where in found.items() if code not in AUDIT_ACTION_LABELS}
    assert not missing, missing


def test_an_unlabelled_action_still_reads_as_chinese() -> None:
    assert audit_action("lead.confirmed") == "确认线索"
    assert audit_action("case.something_new") == "工单办理（未登记）"
    assert audit_action("mystery") == "其他操作（未登记）"
