"""The briefing as files: PDF pages that show Chinese and the charts, cron-safe writing,
one signed webhook event however many runs there are."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.webhooks import SIGNATURE_HEADER, Subscriber, verify
from reports.publish import publish
from tests.reports import fixture_store as fx
from tests.services import require_service
from xianban.asgi_server import EmbeddedServer
from xianban.settings import ROOT
from xianban.store import Store

CONFIGS = ROOT / "configs"
SECRET = "report-secret-0123456789"
SCREENSHOTS = ROOT / "screenshots"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    # named as the embedded default names it, so the CLI finds it with XIANBAN_DATA_DIR
    opened = await Store.open(f"sqlite+aiosqlite:///{(tmp_path / 'xianban.db').as_posix()}")
    try:
        await fx.build(opened)
        yield opened
    finally:
        await opened.close()


class Receiver:
    """A webhook subscriber on localhost that checks each delivery's signature."""

    def __init__(self) -> None:
        self.events: list[dict[str, object]] = []

        async def hook(request: Request) -> Response:
            body = await request.body()
            verify(body, request.headers.get(SIGNATURE_HEADER), SECRET)
            self.events.append(json.loads(body))
            return Response(status_code=204)

        self.server = EmbeddedServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))

    @property
    def subscriber(self) -> Subscriber:
        return Subscriber(url=f"{self.server.url}/hook", secret=SECRET)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.server.start()
    try:
        yield r
    finally:
        await r.server.stop()


def _tools() -> None:
    for tool in ("pdftoppm", "pdffonts", "tesseract"):
        require_service(tool, shutil.which(tool) is not None, "make reports-tools installs it")


async def test_the_pdf_pages_show_the_chinese_title_and_the_charts(
    store: Store, tmp_path: Path
) -> None:
    _tools()
    done = await publish(
        store,
        kind="weekly",
        first=fx.FIRST,
        last=fx.LAST,
        formats=["pdf"],
        out_dir=tmp_path / "out",
        configs_dir=CONFIGS,
        now=fx.NOW,
    )
    [pdf] = done.files
    assert pdf.name == "briefing-weekly-20261123-20261129.pdf"
    await asyncio.to_thread(_check_pdf, pdf, tmp_path / "pages")


def _check_pdf(pdf: Path, pages: Path) -> None:
    fonts = subprocess.run(["pdffonts", pdf], capture_output=True, text=True, check=True).stdout
    assert "WenQuanYi" in fonts  # a Chinese font embedded: no tofu boxes
    pages.mkdir()
    subprocess.run(["pdftoppm", "-r", "110", "-png", pdf, pages / "page"], check=True)
    images = sorted(pages.glob("page-*.png"))
    assert len(images) >= 3
    SCREENSHOTS.mkdir(exist_ok=True)
    for image in images:
        shutil.copy(image, SCREENSHOTS / f"briefing-pdf-{image.name}")
    ocr = subprocess.run(
        ["tesseract", images[0], "-", "-l", "chi_sim", "--psm", "3"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace(" ", "")
    assert "未诉先办每周简报" in ocr, ocr[:400]
    # the charts: the bars' red and the map's palette are drawn on the pages
    colours: set[object] = set()
    for image in images:
        with Image.open(image) as im:
            colours |= {c for _, c in im.convert("RGB").getcolors(1 << 20) or []}
    assert (0xB9, 0x1C, 0x1C) in colours  # bars of the funnel and category charts
    assert (0x7F, 0x1D, 0x1D) in colours  # the darkest district on the map (龙华区)
    assert (0xEE, 0xF1, 0xF5) in colours  # districts without cases


async def test_two_runs_at_once_write_whole_files_and_announce_once(
    store: Store, tmp_path: Path, receiver: Receiver
) -> None:
    out = tmp_path / "out"

    async def run() -> object:
        return await publish(
            store,
            kind="weekly",
            first=fx.FIRST,
            last=fx.LAST,
            formats=["html", "md"],
            out_dir=out,
            configs_dir=CONFIGS,
            subscribers=[receiver.subscriber],
            now=fx.NOW,
        )

    first, second = await asyncio.gather(run(), run())
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "briefing-weekly-20261123-20261129.html",
        "briefing-weekly-20261123-20261129.md",
    ]
    assert not list(out.glob(".*.tmp"))
    html = (out / "briefing-weekly-20261123-20261129.html").read_text("utf-8")
    assert html.rstrip().endswith("</html>") and "未诉先办每周简报" in html
    assert [e["type"] for e in receiver.events] == ["report.published"]
    event = receiver.events[0]
    data = event["data"]
    assert isinstance(data, dict)
    assert data["files"] == [
        "briefing-weekly-20261123-20261129.html",
        "briefing-weekly-20261123-20261129.md",
    ]
    assert data["funnel"] == {
        "posts": 250,
        "leads": 12,
        "verified": 8,
        "cases": 7,
        "on_time": 4,
        "closed": 2,
        "satisfied": 1,
        "rechecked": None,
    }
    ran = sorted([first, second], key=lambda p: p.already_announced)  # type: ignore[attr-defined]
    assert [p.announced for p in ran] == [1, 0]  # type: ignore[attr-defined]
    again = await run()
    assert again.already_announced and len(receiver.events) == 1  # type: ignore[attr-defined]


async def test_a_subscriber_that_fails_is_audited_and_the_files_stay(
    store: Store, tmp_path: Path
) -> None:
    dead = Subscriber(url="http://127.0.0.1:9/hook", secret=SECRET)  # nothing listens
    done = await publish(
        store,
        kind="weekly",
        first=fx.FIRST,
        last=fx.LAST,
        formats=["md"],
        out_dir=tmp_path / "out",
        configs_dir=CONFIGS,
        subscribers=[dead],
        now=fx.NOW,
    )
    assert done.files[0].is_file() and done.announced == 0 and done.failures
    [entry] = [a for a in await store.list_audit() if a.action == "webhook.failed"]
    assert entry.actor == "reports" and entry.target == "weekly-20261123-20261129"


async def test_the_cli_twice_at_once_from_cron(
    store: Store, tmp_path: Path, receiver: Receiver
) -> None:
    out = tmp_path / "cron"
    env = {
        **os.environ,
        "XIANBAN_DATA_DIR": str(tmp_path),
        "XIANBAN_CONSOLE_WEBHOOKS": json.dumps([receiver.subscriber.model_dump()]),
    }
    args = [
        sys.executable, "-m", "xianban", "report", "weekly", "--from", "2026-11-23",
        "--to", "2026-11-29", "--format", "html,md", "--out", str(out),
    ]  # fmt: skip
    procs = [
        await asyncio.create_subprocess_exec(
            *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    results = [await asyncio.wait_for(p.communicate(), 300) for p in procs]
    for proc, (stdout, stderr) in zip(procs, results, strict=True):
        assert proc.returncode == 0, stderr.decode()
        summary = json.loads(stdout)
        assert summary["funnel"]["cases"] == 7
        assert summary["title"] == "未诉先办每周简报（2026年11月23日至11月29日）"
    delivered = sorted(json.loads(out)["webhook"]["delivered"] for out, _ in results)
    assert delivered == [0, 1]
    assert len(receiver.events) == 1
