"""The case state machine: which status may follow which, and what a consumer may write.

::

    pending ──▶ filed ──▶ dispatched ──▶ in_progress ──▶ resolved ──▶ closed
       │          │  ╲          │  ▲            │            │  ▲         │
       ▼          ▼   ╲         ▼  └── reopen ──┼────────────┘  │         │
    rejected   returned ◀───────┴───────────────┘   (审核退回,   └─ reopen ┘
                  │  (退单)                          回访不满意)
                  └──▶ filed (re-routed)

``TRANSITIONS`` is the whole machine (the outbox, supervision and the console move cases
along it); ``WRITABLE`` is the part open to a ticket API consumer, the unit handling the
case: accept and start (dispatched, in_progress), send back (returned, with a reason) and
report it done (resolved). Closing stays with 办结审核 and 回访.
"""

from __future__ import annotations

from collections.abc import Mapping

from xianban.labels import STATUS_LABELS
from xianban.records import Case, CaseStatus

TRANSITIONS: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    "pending": frozenset({"filed", "rejected"}),
    "filed": frozenset({"dispatched", "in_progress", "returned", "resolved", "rejected"}),
    "returned": frozenset({"filed", "rejected"}),
    "dispatched": frozenset({"in_progress", "resolved", "returned"}),
    "in_progress": frozenset({"resolved", "returned"}),
    "resolved": frozenset({"closed", "dispatched"}),
    "closed": frozenset({"dispatched"}),
    "rejected": frozenset(),
}
WRITABLE: frozenset[CaseStatus] = frozenset({"dispatched", "in_progress", "returned", "resolved"})
"""Statuses a consumer may set through the API."""
REPLYABLE: frozenset[CaseStatus] = frozenset(
    {"filed", "dispatched", "in_progress", "resolved", "returned"}
)
"""Statuses in which the handling unit may answer the citizen (答复) or report a 现场核查."""


class TransitionError(ValueError):
    """A move the machine does not allow; the message is Chinese, for the caller."""


def allowed(case: Case) -> frozenset[CaseStatus]:
    return TRANSITIONS[case.status]


def writable(case: Case) -> frozenset[CaseStatus]:
    """What a consumer may move this case to now."""
    return TRANSITIONS[case.status] & WRITABLE


def check_write(case: Case, target: CaseStatus) -> None:
    if target not in WRITABLE:
        raise TransitionError(
            f"接口调用方不能把工单设为“{STATUS_LABELS[target]}”（{target}）；"
            f"可设：{'、'.join(sorted(WRITABLE))}"
        )
    if target not in TRANSITIONS[case.status]:
        options = "、".join(sorted(writable(case))) or "无"
        raise TransitionError(
            f"工单 {case.case_id} 当前为“{STATUS_LABELS[case.status]}”（{case.status}），"
            f"不能改为“{STATUS_LABELS[target]}”（{target}）；当前可改为：{options}"
        )
