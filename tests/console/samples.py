"""Records for the console tests, built with the real models (what the stages would store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from xianban.records import Case, CaseEvent, CaseStatus, DeadLetter, Geo, Lead, Verdict

HOSTILE = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
PHONE = "13812345678"
ID_NUMBER = "440301199001011234"
OPENED = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


def lead(n: int = 1, *, text: str | None = None, urgent: bool = True) -> Lead:
    return Lead(
        lead_id=f"lead-{n}",
        cluster_id=f"cluster-{n}",
        post_ids=[f"weibo:{1000 + n}"],
        platform="weibo",
        url=f"https://weibo.example/{1000 + n}",
        title="龙华汽车站天桥台阶破损",
        text=text or f"龙观大道龙华汽车站天桥台阶断了一块，一脚就能踩空！联系我 {PHONE} {HOSTILE}",
        category="municipal_facilities",
        urgent=urgent,
        urgency_triggers=["一脚就能踩空"],
        geo=Geo(district="龙华区", street="龙华街道", road="龙观大道", poi="龙华汽车站"),
        score=0.87,
        reasons=["命中市政设施关键词：台阶、天桥", "地点解析到道路与地标", f"留有电话 {PHONE}"],
        corroboration=2,
        found_at=OPENED,
    )


def needs_review(n: int = 1, *, urgent: bool = True) -> Verdict:
    subject = lead(n, urgent=urgent)
    return Verdict(
        verdict_id=f"verdict-{n}",
        cluster_id=subject.cluster_id,
        lead=subject,
        decision="needs_review",
        by="rule:low_corroboration",
        reason="证据不足，需人工研判",
        decided_at=OPENED,
    )


def case(n: int = 1, *, status: CaseStatus = "dispatched", escalations: int = 1) -> Case:
    subject = lead(n)
    return Case(
        case_id=f"XB-CASE{n:04d}",
        cluster_id=subject.cluster_id,
        external_id=f"SZ12345-{n}",
        department="龙华区城市管理和综合执法局",
        category="municipal_facilities",
        priority="urgent",
        geo=subject.geo,
        title="【加急】龙观大道 市政设施问题",
        description=f"天桥台阶断裂。报料人电话 {PHONE}，身份证 {ID_NUMBER}。{HOSTILE}",
        post_ids=subject.post_ids,
        opened_at=OPENED,
        dispatch_due=OPENED + timedelta(minutes=30),
        status=status,
        escalations=escalations,
        history=[
            CaseEvent(at=OPENED, status="pending", note="立案，待报送工单系统"),
            CaseEvent(at=OPENED + timedelta(minutes=1), status="filed", note="已报送"),
            CaseEvent(
                at=OPENED + timedelta(minutes=40),
                status="dispatched",
                note="督办：超时未派单，已提醒承办部门",
                by="supervisor",
            ),
        ],
    )


def dead_letter() -> DeadLetter:
    return DeadLetter.for_bytes(
        stage="leadfinder",
        source_topic="posts",
        original=f'{{"text": "{HOSTILE} 电话 {PHONE}"'.encode() + b"\xff\xfe",
        reason="invalid Post: platform: Field required",
        error_type="RecordError",
        partition=2,
        offset=41,
        key="weibo:bad",
    )
