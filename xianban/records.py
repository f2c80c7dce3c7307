"""The records every stage exchanges on the bus.

Each record is a pydantic model with a schema version and travels as UTF-8 JSON. Models
forbid unknown fields and validate strictly, so a malformed record is rejected at the
boundary with a message that names the field, instead of failing somewhere downstream.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    StringConstraints,
    ValidationError,
)

SCHEMA_VERSION = 1

Category = Literal[
    "road_traffic",
    "municipal_facilities",
    "city_appearance",
    "noise",
    "construction_safety",
    "fire_safety",
    "public_transport",
    "parks_greenery",
    "water_power_gas",
    "housing_rental",
    "property_management",
    "consumer_rights",
    "market_regulation",
    "ecology_environment",
    "labor_social_security",
    "education",
    "health",
    "public_security",
]
CATEGORIES: tuple[str, ...] = get_args(Category)
"""The 18 category codes, in the order DESIGN.md lists them."""

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Text = Annotated[str, StringConstraints(max_length=100_000)]


def utcnow() -> datetime:
    """Timezone-aware now; naive datetimes are rejected on the wire, so never make one."""
    return datetime.now(UTC)


class RecordError(ValueError):
    """A record could not be decoded: bad JSON, a missing field or a wrong type.

    The message is one line per problem (``field: what is wrong``) so that it reads well
    in a dead letter and in a CLI error.
    """

    def __init__(self, model: str, problems: list[str]) -> None:
        self.model = model
        self.problems = problems
        super().__init__(f"invalid {model}: " + "; ".join(problems))


class Record(BaseModel):
    """Base of every bus record: versioned, strict, immutable, JSON on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    schema_version: Literal[1] = 1
    topic: ClassVar[str]

    def key(self) -> str:
        """The partition key on the record's topic."""
        raise NotImplementedError

    def json_text(self) -> str:
        """The record's JSON (``model_dump_json``), made once for a record written twice
        in a row: a stage's output goes into the store's JSON column and then onto the
        bus (each dump of a lead or verdict ~7 µs, of a case more). A record is frozen
        and nothing changes its lists in place, so its JSON stays what it was made;
        ``model_copy`` makes another object, serialised afresh."""
        key = id(self)
        hit = _WRITTEN.get(key)
        if hit is not None and hit[0] is self:
            return hit[1]
        text = self.model_dump_json()
        if len(text) <= _WRITTEN_CHARS:
            global _written_chars
            _WRITTEN[key] = (self, text)  # held, so its id is no other record's meanwhile
            _written_chars += len(text)
            while len(_WRITTEN) > _WRITTEN_MAX or _written_chars > _WRITTEN_BUDGET:
                _written_chars -= len(_WRITTEN.pop(next(iter(_WRITTEN)))[1])
        return text

    def to_bytes(self) -> bytes:
        return self.json_text().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | str | None) -> Self:
        """Decode a record from the wire; anything else (a null value, empty bytes, bad
        JSON, a wrong field, another schema version) is a ``RecordError`` naming why."""
        if raw is None:
            raise RecordError(cls.__name__, ["(record): null value (a tombstone), not a record"])
        if not raw:
            raise RecordError(cls.__name__, ["(record): empty value, not a record"])
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise RecordError(cls.__name__, _problems(exc)) from None

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RecordError(cls.__name__, _problems(exc)) from None


_WRITTEN: dict[int, tuple[Record, str]] = {}
"""The JSON of the records serialised last, by object id, oldest first (``json_text``)."""
_WRITTEN_MAX = 8192
"""More than the records of the polls a worker holds and their outputs: the embedded
leadfinder sends the JSON of posts up to ``runtime.READ_AHEAD`` polls ahead to its scoring
child and stores them after the verifier and the case opener have run in between (with
1,024 nearly every post was serialised twice, ~3 µs each, and a lead the verifier stores
again often once more)."""
_WRITTEN_CHARS = 1 << 16
"""Longer JSON is not held (a few huge posts would hold megabytes)."""
_WRITTEN_BUDGET = 1 << 24
"""Characters held in all (16 Mi): the oldest go first past it, whatever their number."""
_written_chars = 0


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(record)"
        out.append(f"{where}: {err['msg']}")
    return out


class CrawlTask(Record):
    """One unit of crawling: a source, what to ask it, and where the last crawl stopped."""

    topic: ClassVar[str] = "crawl.tasks"

    task_id: NonEmpty
    source: NonEmpty
    query: str | None = None
    cursor: str | None = None
    pages: int = Field(default=1, ge=1, le=1000)
    attempt: NonNegativeInt = 0
    scheduled_at: AwareDatetime = Field(default_factory=utcnow)

    def key(self) -> str:
        return self.source


class Author(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    name: str | None = None
    followers: NonNegativeInt | None = None
    verified: bool = False


class Engagement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    likes: NonNegativeInt = 0
    comments: NonNegativeInt = 0
    shares: NonNegativeInt = 0
    views: NonNegativeInt = 0


class PlaceHints(BaseModel):
    """What the platform itself says about where: IP属地, a POI tag, a city field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ip_location: str | None = None
    poi: str | None = None
    city: str | None = None


class Post(Record):
    """A post as crawled, normalised across platforms."""

    topic: ClassVar[str] = "posts"

    platform: NonEmpty
    native_id: NonEmpty
    source: str | None = None
    url: str | None = None
    author: Author = Field(default_factory=Author)
    title: str | None = None
    text: Text
    media: list[str] = Field(default_factory=list)
    created_at: AwareDatetime | None = None
    fetched_at: AwareDatetime = Field(default_factory=utcnow)
    engagement: Engagement = Field(default_factory=Engagement)
    place_hints: PlaceHints = Field(default_factory=PlaceHints)
    repost_of: str | None = None
    reply_to: str | None = Field(
        None,
        description="post id this answers: a comment's post, a sub-comment's (楼中楼) comment, "
        "a floor's thread, an official reply's message; None for a post of its own",
    )
    addressed_to: str | None = Field(
        None,
        description="who the post is addressed to on the platform: the merchant complained "
        "about (黑猫投诉), the official or department a message board letter goes to",
    )

    @property
    def post_id(self) -> str:
        """Natural id: unique across platforms, stable across re-crawls."""
        return f"{self.platform}:{self.native_id}"

    def key(self) -> str:
        return self.post_id


class Geo(BaseModel):
    """Where a problem is, from coarse to fine. ``None`` means not known."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    district: str | None = None
    street: str | None = None
    community: str | None = None
    road: str | None = None
    poi: str | None = None


class Lead(Record):
    """A post (or cluster of posts) the leadfinder thinks is an actionable city problem."""

    topic: ClassVar[str] = "leads"

    lead_id: NonEmpty
    cluster_id: NonEmpty
    post_ids: list[NonEmpty] = Field(min_length=1)
    platform: NonEmpty
    url: str | None = None
    title: str | None = None
    text: Text
    category: Category
    urgent: bool
    urgency_triggers: list[str] = Field(default_factory=list)
    geo: Geo = Field(default_factory=Geo)
    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list)
    features: dict[str, float] = Field(default_factory=dict)
    corroboration: NonNegativeInt = 0
    posted_at: AwareDatetime | None = None
    found_at: AwareDatetime = Field(default_factory=utcnow)

    def key(self) -> str:
        return self.cluster_id


class ScoredPost(Record):
    """A post the leadfinder scored below the lead threshold and placed to a street: what
    it found, handed to the weak-signal stage so that stage does not run the extractor a
    second time (a second read of ``posts`` cost a second extractor load and pass, ~1/3 of
    ``run --once``). A record of its own rather than a field on ``Lead``: these are not
    leads, and the verifier, case opener and store never see them."""

    topic: ClassVar[str] = "posts.scored"

    post: Post
    score: float = Field(ge=0.0, le=1.0)
    category: Category | None = None
    urgent: bool = False
    geo: Geo = Field(default_factory=Geo)

    def key(self) -> str:
        return self.post.post_id


Decision = Literal["confirmed", "rejected", "needs_review"]


class Verdict(Record):
    """The verifier's decision on a lead, with who (which rule or analyst) and why."""

    topic: ClassVar[str] = "verdicts"

    verdict_id: NonEmpty
    cluster_id: NonEmpty
    lead: Lead
    decision: Decision
    by: NonEmpty
    reason: str
    decided_at: AwareDatetime = Field(default_factory=utcnow)
    duplicate_of: str | None = None
    """Confirmed as another report of the problem this cluster's case carries (its cluster
    id): the case opener attaches the posts to that case instead of opening a second one."""
    merged_into: str | None = None
    """Rejected because an analyst merged this cluster into that one (its cluster id)."""

    def key(self) -> str:
        return self.cluster_id

    def confirms_own_case(self) -> bool:
        """A confirmation carried by its own cluster's case: the first (``duplicate_of``
        None) or a later report of the cluster (``duplicate_of`` the cluster itself), not
        one attached to another cluster's case (``store.listing.own_case`` in SQL)."""
        return self.decision == "confirmed" and self.duplicate_of in (None, self.cluster_id)


Priority = Literal["urgent", "ordinary"]
UnitLevel = Literal["city", "district", "street", "community"]
Satisfaction = Literal["satisfied", "basically_satisfied", "dissatisfied", "unreachable"]
Recheck = Literal["passed", "failed"]
CaseStatus = Literal[
    "pending",  # in our outbox, not yet accepted by the work-order system
    "filed",
    "returned",  # 退单: the unit it reached says it is not theirs; to be re-routed
    "dispatched",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
]

OPEN_STATUSES: tuple[CaseStatus, ...] = (
    "pending",
    "filed",
    "returned",
    "dispatched",
    "in_progress",
    "resolved",
)
"""Statuses supervision still follows."""
UNDISPATCHED_STATUSES: tuple[CaseStatus, ...] = ("pending", "filed", "returned")
"""Statuses whose dispatch deadline (SLA) is still running."""


class CaseEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: AwareDatetime
    status: CaseStatus
    note: str = ""
    by: str = "system"


class Case(Record):
    """A work order on the city's system, as we filed it and as we follow it."""

    topic: ClassVar[str] = "cases"

    case_id: NonEmpty
    cluster_id: NonEmpty
    external_id: str | None = None
    department: NonEmpty
    category: Category
    priority: Priority
    geo: Geo = Field(default_factory=Geo)
    title: NonEmpty
    description: Text
    post_ids: list[NonEmpty] = Field(min_length=1)
    opened_at: AwareDatetime
    dispatch_due: AwareDatetime
    status: CaseStatus = "pending"
    escalations: NonNegativeInt = 0
    history: list[CaseEvent] = Field(default_factory=list)
    unit_level: UnitLevel | None = None
    """The level of the unit that acts: city bureau or company, district, street, community."""
    routing: list[str] = Field(default_factory=list)
    """Why ``department`` receives the case, one line per step (the duties list's entry,
    the place it was resolved at, any fallback or re-routing after a 退单)."""
    first_department: str | None = None
    """The unit the case was first sent to; differs from ``department`` after a re-route."""
    reroutes: NonNegativeInt = 0
    handle_due: AwareDatetime | None = None
    """Deadline for the unit to finish handling (办结), from dispatch, in working time."""
    close_due: AwareDatetime | None = None
    """Deadline for 办结审核 and 回访 after the unit reports it resolved."""
    escalation_level: NonNegativeInt = 0
    """督办 level reached: 0 none, 1 提醒 (notice), 2 警示 (warning), 3 区级督办 (district)."""
    reply: str | None = None
    """The reply to the people who posted, from the category's template and the case state."""
    satisfaction: Satisfaction | None = None
    """回访: what the citizen said when asked after closure."""
    recheck: Recheck | None = None
    """复查 of the latest closure: ``passed`` once the reopen window went by with no new
    report of the problem (the crawlers kept watching), ``failed`` when it came back and
    the case was reopened."""
    reopened: NonNegativeInt = 0

    @property
    def returned(self) -> bool:
        """Has any unit sent this case back (退单) at least once?"""
        return self.reroutes > 0 or any(e.status == "returned" for e in self.history)

    def key(self) -> str:
        return self.cluster_id


class DeadLetter(Record):
    """A record a stage gave up on, kept whole so it can be inspected and replayed.

    ``original_b64`` is ``None`` when the record had a null value (a Kafka tombstone), so
    a null and an empty record stay distinguishable (``null_value``). ``truncated`` copies (see
    ``for_bus``) carry only the start of a huge original; the store keeps it whole.
    """

    topic: ClassVar[str] = "dlq"

    stage: NonEmpty
    source_topic: NonEmpty
    partition: int | None = None
    offset: int | None = None
    record_key: str | None = None
    reason: str
    error_type: str
    original_b64: str | None
    original_size: NonNegativeInt | None = None
    """Length of the original in bytes (``None`` for a null value)."""
    truncated: bool = False
    failed_at: AwareDatetime = Field(default_factory=utcnow)

    MAX_REASON: ClassVar[int] = 2_000
    MAX_KEY: ClassVar[int] = 512

    def key(self) -> str:
        return self.stage

    @classmethod
    def for_bytes(
        cls,
        *,
        stage: str,
        source_topic: str,
        original: bytes | None,
        reason: str,
        error_type: str,
        partition: int | None = None,
        offset: int | None = None,
        key: str | None = None,
    ) -> DeadLetter:
        """A letter for any bytes a consumer can receive, null and huge ones included; the
        reason and key are cut to a readable length (the bytes are kept whole)."""
        return cls(
            stage=stage,
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            record_key=_cut(key, cls.MAX_KEY) if key is not None else None,
            reason=_cut(reason, cls.MAX_REASON) or error_type,
            error_type=_cut(error_type, 200) or "Error",
            original_b64=None if original is None else base64.b64encode(original).decode("ascii"),
            original_size=None if original is None else len(original),
        )

    def for_bus(self, max_bytes: int) -> DeadLetter:
        """This letter, or a copy whose original is cut so the encoded letter fits in
        ``max_bytes`` (a broker refuses larger messages, and a dead letter that cannot be
        produced would stop the stage it was meant to save)."""
        if self.original_b64 is None or len(self.to_bytes()) <= max_bytes:
            return self
        rest = len(self.model_copy(update={"original_b64": "", "truncated": True}).to_bytes())
        room = max(0, (max_bytes - rest - 8) // 4 * 3)
        kept = base64.b64decode(self.original_b64[: (room // 3) * 4])
        return self.model_copy(
            update={"original_b64": base64.b64encode(kept).decode("ascii"), "truncated": True}
        )

    @property
    def original(self) -> bytes:
        """The original bytes (empty for a null value: see ``null_value``)."""
        return b"" if self.original_b64 is None else base64.b64decode(self.original_b64)

    @property
    def null_value(self) -> bool:
        """The record had a null value (a tombstone), not even empty bytes."""
        return self.original_b64 is None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stable_id(*parts: str, length: int = 16) -> str:
    """A short deterministic id from natural-key parts, so replays produce the same id."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
    return digest[:length]
