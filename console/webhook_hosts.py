"""Where a consumer's webhook may point: allowed hosts, and no internal address (SSRF).

A consumer could otherwise make the console post to the loopback interface, the cloud
metadata address or the office network. A URL is accepted when:

* its scheme is https (http only for hosts in ``api.webhook_internal_hosts``, or when
  ``api.webhook_require_https`` is off), it has no user name or password;
* its host is in ``api.webhook_allowed_hosts`` when that list is set (``*.example.cn``
  matches the subdomains);
* every address the host resolves to is public, unless the host is listed in
  ``api.webhook_internal_hosts`` (loopback, private, link-local, shared, multicast,
  reserved and unspecified addresses are internal; IPv4-mapped IPv6 is unwrapped).

The check runs when a subscription is made and again before every delivery, and the
request goes to the address that was checked (``Host`` and TLS name kept), so a DNS
answer that changes in between (rebinding) cannot redirect it. Redirects are never
followed. Subscriptions from the operator's configuration are trusted as they are.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from xianban.settings import ApiSettings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(ValueError):
    """The URL may not receive webhooks; the message says why, in Chinese."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    host: str
    address: str | None
    """The checked address to connect to (None: the host is trusted, connect by name)."""


def _host_matches(host: str, patterns: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in (p.lower().rstrip(".") for p in patterns):
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def internal(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_form(url: str, settings: ApiSettings) -> tuple[str, bool]:
    """The URL's host and whether it is a configured internal host; UrlRefused if the URL
    itself is not acceptable (scheme, credentials, host not allowed)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused(f"订阅地址不是有效的 URL：{url}") from None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("https", "http") or not host:
        raise UrlRefused("订阅地址须为 https://主机/路径")
    if parts.username or parts.password:
        raise UrlRefused("订阅地址不能含用户名或密码")
    if port == 0:
        raise UrlRefused("订阅地址的端口无效")
    trusted_internal = _host_matches(host, settings.webhook_internal_hosts)
    if parts.scheme == "http" and settings.webhook_require_https and not trusted_internal:
        raise UrlRefused("订阅地址须使用 https")
    allowed = settings.webhook_allowed_hosts
    if allowed and not trusted_internal and not _host_matches(host, allowed):
        raise UrlRefused(f"主机 {host} 不在允许的订阅主机之列（{'、'.join(allowed)}）")
    return host, trusted_internal


async def resolve(host: str, port: int) -> list[IpAddress]:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UrlRefused(f"无法解析主机 {host}：{exc}") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check(url: str, settings: ApiSettings) -> Target:
    """Check a consumer's URL now (form, host list, every resolved address)."""
    host, trusted_internal = check_form(url, settings)
    if trusted_internal:
        return Target(url=url, host=host, address=None)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(host, port)
    bad = [a for a in addresses if internal(a)]
    if bad or not addresses:
        shown = "、".join(str(a) for a in bad) or "无地址"
        raise UrlRefused(
            f"主机 {host} 解析到内部地址（{shown}），不能接收 Webhook；"
            "如确需投递到内网，请由管理员配置 api.webhook_internal_hosts"
        )
    return Target(url=url, host=host, address=str(addresses[0]))
