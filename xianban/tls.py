"""One verifying TLS context per process for the clients that call out over HTTPS.

httpx builds a new context for every client unless given one, and building one loads the
CA bundle: 120 ms of CPU per client, measured on this machine under load (about 28 ms
idle). The case opener and supervision make their clients at every start, so a
restarted stage paid that two or three times before it consumed anything.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
