"""The console's own Prometheus series (the stages' series live with the runtime)."""

from __future__ import annotations

from prometheus_client import Counter

ANALYST_ACTIONS = Counter(
    "xianban_console_analyst_actions_total",
    "Review-queue actions taken by analysts",
    ["action"],
)
WEBHOOK_DELIVERIES = Counter(
    "xianban_console_webhook_deliveries_total",
    "Webhook delivery attempts by outcome",
    ["outcome"],
)
