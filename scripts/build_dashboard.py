"""Write deploy/grafana/xianban.json: the Grafana dashboard, from xianban.metrics' names.

Run after adding a metric: `python scripts/build_dashboard.py`. tests/test_metrics.py
checks that every series the dashboard queries is one the code exports, and that every
exported metric has a panel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "xianban.json"
RATE = "5m"


def panel(
    n: int,
    title: str,
    exprs: list[tuple[str, str]],
    *,
    unit: str = "short",
    kind: str = "timeseries",
    description: str = "",
) -> dict[str, Any]:
    return {
        "id": n,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * ((n - 1) % 2), "y": 8 * ((n - 1) // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right"}},
        "targets": [
            {"refId": chr(65 + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def quantiles(metric: str, by: str) -> list[tuple[str, str]]:
    return [
        (
            f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket[{RATE}])))",
            f"{{{{{by}}}}} p{int(q * 100)}",
        )
        for q in (0.5, 0.95, 0.99)
    ]


PANELS = [
    (
        "Fetches by source and outcome",
        [
            (
                f"sum by (source, outcome) (rate(xianban_fetches_total[{RATE}]))",
                "{{source}} {{outcome}}",
            ),
        ],
        "reqps",
        "A source in trouble shows as outcomes other than ok: rate_limited, banned, "
        "login_required, captcha, timeout, server_error, malformed.",
    ),
    (
        "Failing share of fetches",
        [
            (
                f'sum by (source) (rate(xianban_fetches_total{{outcome!="ok"}}[{RATE}])) / '
                f"sum by (source) (rate(xianban_fetches_total[{RATE}]))",
                "{{source}}",
            ),
        ],
        "percentunit",
        "",
    ),
    ("Fetch latency", quantiles("xianban_fetch_seconds", "source"), "s", ""),
    (
        "Source state (1 = in it now)",
        [
            (
                'max by (source, state) (xianban_source_state{state!="ok"}) > 0',
                "{{source}} {{state}}",
            ),
        ],
        "short",
        "Sources not ok; the log has one source.state_changed warning per change.",
    ),
    (
        "Records in per stage",
        [
            (f"sum by (stage) (rate(xianban_stage_records_in_total[{RATE}]))", "{{stage}}"),
        ],
        "rps",
        "",
    ),
    (
        "Records out per stage and topic",
        [
            (
                f"sum by (stage, topic) (rate(xianban_stage_records_out_total[{RATE}]))",
                "{{stage}} → {{topic}}",
            ),
        ],
        "rps",
        "",
    ),
    (
        "Dead letters by reason",
        [
            (
                f"sum by (stage, reason) (rate(xianban_dead_letters_total[{RATE}]))",
                "{{stage}} {{reason}}",
            ),
        ],
        "rps",
        "Records sent to dlq, by the error's type (RecordError: did not decode).",
    ),
    (
        "Retries and give-ups",
        [
            (
                "sum by (stage, outcome) "
                f'(rate(xianban_records_total{{outcome=~"retried|gave_up"}}[{RATE}]))',
                "{{stage}} {{outcome}}",
            ),
        ],
        "rps",
        "gave_up: transient errors outlasted the retries; the worker stopped.",
    ),
    (
        "Consumer lag",
        [
            ("sum by (stage) (xianban_consumer_lag)", "{{stage}}"),
        ],
        "short",
        "Records not yet read on the partitions the workers own.",
    ),
    ("Stage batch latency", quantiles("xianban_stage_batch_seconds", "stage"), "s", ""),
    (
        "Records per batch",
        [
            (
                f"sum by (stage) (rate(xianban_stage_batch_records_sum[{RATE}])) / "
                f"sum by (stage) (rate(xianban_stage_batch_records_count[{RATE}]))",
                "{{stage}}",
            ),
        ],
        "short",
        "",
    ),
    (
        "SLA: cases past their dispatch deadline",
        [
            ("sum by (priority) (xianban_sla_breached_cases)", "late now {{priority}}"),
            (
                "sum by (priority) (increase(xianban_sla_breaches_total[1h]))",
                "new in 1h {{priority}}",
            ),
        ],
        "short",
        "Urgent: 30 minutes, ordinary: 2 hours (configs/sla.yaml).",
    ),
    (
        "Scheduler",
        [
            ("sum(xianban_scheduler_holding)", "schedulers holding the lease (1 expected)"),
            (f"sum by (source) (rate(xianban_scheduled_tasks_total[{RATE}]))", "tasks {{source}}"),
        ],
        "short",
        "",
    ),
]


def dashboard() -> dict[str, Any]:
    return {
        "uid": "xianban-loop",
        "title": "xianban: the loop",
        "tags": ["xianban"],
        "timezone": "Asia/Shanghai",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                }
            ]
        },
        "panels": [
            panel(n, title, exprs, unit=unit, description=description)
            for n, (title, exprs, unit, description) in enumerate(PANELS, start=1)
        ],
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(dashboard(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(OUT)
