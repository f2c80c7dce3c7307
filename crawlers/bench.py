"""``xianban bench crawler``: our fetch-and-parse path against a plain Scrapy spider.

Both crawl the same simulator endpoints (Weibo search pages of ~17 KB, 10 posts each) at
the same concurrency with politeness off, and both parse every page into ``Post`` records
with the Weibo adapter's own parser, so they do equal work. The simulator runs in its own
uvicorn process so that neither crawler shares an event loop or an interpreter lock with
it, and Scrapy runs in another subprocess (``python -m crawlers.bench scrapy ...``) because its
Twisted reactor cannot be restarted inside our process.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx

from crawlers.fetch import HttpFetcher
from crawlers.platforms.weibo import PATH, to_post
from crawlers.politeness import Politeness
from xianban.errors import ConfigError
from xianban.settings import Settings

QUERY = "，"
"""In nearly every post of the simulator's written pool, so its result pages are full."""
SEARCH_PAGES = 5
"""Result pages the bench cycles through, all full (71 results at seed 7, 10 a page)."""
STARTUP_TIMEOUT_S = 30.0


def page_params(i: int) -> dict[str, str]:
    return {
        "containerid": f"100103type=1&q={QUERY}",
        "page_type": "searchall",
        "page": str(i % SEARCH_PAGES + 1),
    }


def page_urls(base_url: str, pages: int) -> list[str]:
    return [str(httpx.URL(base_url + "/weibo" + PATH, params=page_params(i))) for i in range(pages)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_sim() -> tuple[subprocess.Popen[bytes], str]:
    """The simulator alone in a uvicorn process; returns once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "sim.server:create_sim_app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--lifespan",
            "off",
        ],
        stdout=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"the simulator exited at start (code {proc.returncode})")
        try:
            httpx.get(base_url + "/_admin/platforms", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        return proc, base_url
    stop(proc)
    raise ConfigError(f"the simulator did not answer within {STARTUP_TIMEOUT_S:.0f}s")


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
            cards = body["data"]["cards"]
            posts += len([to_post(c["mblog"], "bench") for c in cards if c.get("card_type") == 9])

    async with HttpFetcher(base_url + "/weibo", policy) as fetcher:
        await fetcher.get_json(PATH, params=page_params(0))  # connect before the clock starts
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(fetcher) for _ in range(concurrency)))
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
        raise ConfigError(f"the Scrapy baseline failed: {out.stderr.strip()[-2000:]}")
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

        def parse(self, response: Any) -> Any:
            cards = json.loads(response.body)["data"]["cards"]
            for card in cards:
                if card.get("card_type") == 9:
                    stats["posts"] += 1
                    yield {"post": to_post(card["mblog"], "bench")}

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


def bench_command(
    settings: Settings, *, pages: int = 3000, concurrency: int = 16
) -> dict[str, Any]:
    """Ours and Scrapy in one run, against one simulator process (``settings`` unused:
    the bench starts its own simulator so a running loop cannot skew it)."""
    del settings
    sim, base_url = start_sim()
    try:
        scrapy_run = crawl_scrapy(base_url, pages, concurrency)
        ours = asyncio.run(crawl_ours(base_url, pages, concurrency))
    finally:
        stop(sim)
    ours_rate = pages / ours["seconds"]
    scrapy_rate = pages / scrapy_run["seconds"]
    return {
        "endpoint": f"weibo search q={QUERY}",
        "pages": pages,
        "concurrency": concurrency,
        "ours_pages_per_s": round(ours_rate, 1),
        "scrapy_pages_per_s": round(scrapy_rate, 1),
        "ratio": round(ours_rate / scrapy_rate, 2),
        "ours_cpu_s_per_page": round(ours["cpu_s"] / pages, 6),
        "scrapy_cpu_s_per_page": round(scrapy_run["cpu_s"] / pages, 6),
        "ours_posts": int(ours["posts"]),
        "scrapy_posts": int(scrapy_run["posts"]),
        "cores": os.cpu_count(),
    }


if __name__ == "__main__" and sys.argv[1:2] == ["scrapy"]:
    run_scrapy(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
