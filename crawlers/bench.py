"""``xianban bench crawler``: our fetch-and-parse path against a bare aiohttp loop and a
plain Scrapy spider.

The simulator renders five Weibo search pages (~17 KB, 10 posts each) once; a static server
in its own process (aiohttp's ``FileResponse``, sendfile from disk, no Python per byte)
serves them, so the figure is the crawler's and not the simulator's. All three crawl the
same pages at the same concurrency and parse every page into ``Post`` records with the
Weibo adapter's own parser, so they do equal work: ours through the runtime's fetcher
(httpx on the aiohttp transport, the politeness chain opened up), the bare loop through
``aiohttp.ClientSession`` with nothing around it (the ceiling for Python doing this work),
and Scrapy in another subprocess (``python -m crawlers.bench scrapy ...``) because its
Twisted reactor cannot be restarted inside our process.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from crawlers.fetch import HttpFetcher
from crawlers.platforms.weibo import PATH, to_post
from crawlers.politeness import Politeness
from xianban.bus.broker import free_port
from xianban.errors import ConfigError
from xianban.settings import Settings

QUERY = "，"
"""In nearly every post of the simulator's written pool, so its result pages are full."""
SEARCH_PAGES = 5
"""Result pages the bench cycles through, all full (71 results at seed 7, 10 a page)."""
STARTUP_TIMEOUT_S = 30.0
ROUNDS = 3
"""Each crawler runs this many times, interleaved; the median run (by wall time) counts."""


def page_params(i: int) -> dict[str, str]:
    return {
        "containerid": f"100103type=1&q={QUERY}",
        "page_type": "searchall",
        "page": str(i % SEARCH_PAGES + 1),
    }


def page_urls(base_url: str, pages: int) -> list[str]:
    return [str(httpx.URL(base_url + "/weibo" + PATH, params=page_params(i))) for i in range(pages)]


def start_server(argv: list[str], probe: str, what: str) -> tuple[subprocess.Popen[bytes], str]:
    """``argv`` (a server taking ``--port``) in its own process; returns once ``probe``
    answers."""
    port = free_port()
    proc = subprocess.Popen([*argv, "--port", str(port)], stdout=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"{what}启动即退出（退出码 {proc.returncode}）")
        try:
            httpx.get(base_url + probe, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        return proc, base_url
    stop(proc)
    raise ConfigError(f"{what}在 {STARTUP_TIMEOUT_S:.0f} 秒内没有应答")


def start_sim() -> tuple[subprocess.Popen[bytes], str]:
    """The simulator alone in a uvicorn process."""
    argv = [sys.executable, "-m", "uvicorn", "--factory", "sim.server:create_sim_app"]
    argv += ["--log-level", "warning", "--lifespan", "off"]
    return start_server(argv, "/_admin/platforms", "模拟平台")


def render_pages(directory: Path) -> None:
    """The search pages as the simulator serves them, one file each (``<page>.json``)."""
    sim, base_url = start_sim()
    try:
        for i in range(SEARCH_PAGES):
            params = page_params(i)
            answer = httpx.get(base_url + "/weibo" + PATH, params=params, timeout=30.0)
            answer.raise_for_status()
            (directory / f"{params['page']}.json").write_bytes(answer.content)
    finally:
        stop(sim)


def start_static(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    argv = [sys.executable, "-m", "crawlers.bench", "static", str(directory)]
    return start_server(argv, "/weibo" + PATH + "?page=1", "静态页面服务")


def serve_static(directory: Path, port: int) -> None:
    """Weibo's search path answered from the rendered files by ``page``: a file response
    (sendfile) chosen by a dictionary lookup, so the server costs next to nothing."""
    from aiohttp import web

    files = {path.stem: path for path in directory.glob("*.json")}

    async def search(request: web.Request) -> web.StreamResponse:
        path = files.get(request.query.get("page", ""))
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app = web.Application()
    app.router.add_get("/weibo" + PATH, search)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def crawl_ours(base_url: str, pages: int, concurrency: int) -> dict[str, float]:
    """The runtime's fetcher (aiohttp transport, the whole politeness chain with its
    limits opened up) and the Weibo adapter's parsing into posts."""
    policy = Politeness(concurrency=concurrency, rate_per_s=0, burst=concurrency, retries=0)
    queue = list(range(pages))
    posts = 0

    async def worker(fetcher: HttpFetcher) -> None:
        nonlocal posts
        while queue:
            body = await fetcher.get_json(PATH, params=page_params(queue.pop()))
            posts += parse_page(body)  # not ``posts += f(await …)``: that reads posts first

    async with HttpFetcher(base_url + "/weibo", policy) as fetcher:
        await fetcher.get_json(PATH, params=page_params(0))  # connect before the clock starts
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(fetcher) for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"seconds": wall, "cpu_s": cpu, "posts": posts}


def parse_page(body: Any) -> int:
    """What every crawler does with a page: the adapter's own parsing into posts."""
    cards = body["data"]["cards"]
    return len([to_post(c["mblog"], "bench") for c in cards if c.get("card_type") == 9])


async def crawl_bare(base_url: str, pages: int, concurrency: int) -> dict[str, float]:
    """The ceiling: ``aiohttp.ClientSession`` and the same parse, nothing around them (the
    URLs built and encoded before the clock starts)."""
    import aiohttp
    from yarl import URL

    queue = [URL(url, encoded=True) for url in page_urls(base_url, pages)]
    posts = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal posts
        while queue:
            async with session.get(queue.pop()) as answer:
                body = json.loads(await answer.read())
            posts += parse_page(body)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(queue[0]) as answer:  # connect before the clock starts
            await answer.read()
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"seconds": wall, "cpu_s": cpu, "posts": posts}


def crawl_scrapy(base_url: str, pages: int, concurrency: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "crawlers.bench", "scrapy", base_url, str(pages), str(concurrency)],
        capture_output=True,
        check=False,
        text=True,
    )
    if out.returncode != 0:
        raise ConfigError(f"Scrapy 基线运行失败：{out.stderr.strip()[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_scrapy(base_url: str, pages: int, concurrency: int) -> None:
    """The baseline: a plain spider, timed from its first request to its close."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    urls = page_urls(base_url, pages)
    stats: dict[str, float] = {"posts": 0}

    class WeiboSpider(scrapy.Spider):
        name = "bench"

        async def start(self) -> Any:
            stats["wall0"], stats["cpu0"] = time.perf_counter(), time.process_time()
            for url in urls:
                yield scrapy.Request(url, dont_filter=True)

        def parse(self, response: Any) -> None:
            stats["posts"] += parse_page(json.loads(response.body))

        def closed(self, reason: str) -> None:
            stats["seconds"] = time.perf_counter() - stats.pop("wall0")
            stats["cpu_s"] = time.process_time() - stats.pop("cpu0")

    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "DOWNLOAD_DELAY": 0,
            "ROBOTSTXT_OBEY": False,
            "AUTOTHROTTLE_ENABLED": False,
            "RETRY_ENABLED": False,
            "COOKIES_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_LEVEL": "ERROR",
        }
    )
    process.crawl(WeiboSpider)
    process.start()
    print(json.dumps(stats))


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    return sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]


def bench_command(
    settings: Settings, *, pages: int = 3000, concurrency: int = 16
) -> dict[str, Any]:
    """Ours, the bare loop and Scrapy in one run against one static server (``settings``
    unused: the bench starts its own servers so a running loop cannot skew it)."""
    del settings
    with tempfile.TemporaryDirectory(prefix="xianban-bench-") as tmp:
        directory = Path(tmp)
        render_pages(directory)
        server, base_url = start_static(directory)
        try:
            rounds: dict[str, list[dict[str, float]]] = {
                "bare_aiohttp": [],
                "ours": [],
                "scrapy": [],
            }
            for _ in range(ROUNDS):  # interleaved, so a busy moment hits all three alike
                rounds["bare_aiohttp"].append(asyncio.run(crawl_bare(base_url, pages, concurrency)))
                rounds["ours"].append(asyncio.run(crawl_ours(base_url, pages, concurrency)))
                rounds["scrapy"].append(crawl_scrapy(base_url, pages, concurrency))
        finally:
            stop(server)
    runs = {name: median_run(got) for name, got in rounds.items()}
    rates = {name: pages / run["seconds"] for name, run in runs.items()}
    return {
        "endpoint": f"weibo search q={QUERY}, {SEARCH_PAGES} pages rendered by the simulator",
        "server": "static (aiohttp FileResponse in its own process)",
        "pages": pages,
        "concurrency": concurrency,
        "rounds": ROUNDS,
        **{f"{name}_pages_per_s": round(rate, 1) for name, rate in rates.items()},
        **{
            f"{name}_cpu_ms_per_page": round(run["cpu_s"] * 1000 / pages, 3)
            for name, run in runs.items()
        },
        **{f"{name}_posts": int(run["posts"]) for name, run in runs.items()},
        "ours_vs_bare": round(rates["ours"] / rates["bare_aiohttp"], 2),
        "ours_vs_scrapy": round(rates["ours"] / rates["scrapy"], 2),
        "targets": {"ours_vs_bare": 0.75, "ours_vs_scrapy": 3.0},
        "cores": os.cpu_count(),
    }


if __name__ == "__main__" and sys.argv[1:2] == ["scrapy"]:
    run_scrapy(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif __name__ == "__main__" and sys.argv[1:2] == ["static"]:
    serve_static(Path(sys.argv[2]), int(sys.argv[sys.argv.index("--port") + 1]))
