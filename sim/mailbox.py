"""An SMTP relay, simulated: enough of RFC 5321 for smtplib, every message kept parsed.

``async with Mailbox() as box: ... box.messages`` — HELO/EHLO, MAIL FROM, RCPT TO, DATA
(dot-unstuffed, ended by a lone "."), RSET, NOOP, QUIT; anything else is answered 502.
"""

from __future__ import annotations

import asyncio
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser


class Mailbox:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Mailbox:
        self._server = await asyncio.start_server(self._session, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def say(line: str) -> None:
            writer.write(f"{line}\r\n".encode())
            await writer.drain()

        sender = ""
        recipients: list[str] = []
        try:
            await say("220 mailbox.sim ESMTP")
            while line := await reader.readline():
                command = line.decode("utf-8", "replace").strip()
                verb = command[:4].upper()
                if verb == "EHLO":
                    await say("250-mailbox.sim")
                    await say("250 8BITMIME")
                elif verb == "HELO":
                    await say("250 mailbox.sim")
                elif verb == "MAIL":
                    sender, recipients = command.partition(":")[2].strip(" <>"), []
                    await say("250 OK")
                elif verb == "RCPT":
                    recipients.append(command.partition(":")[2].strip(" <>"))
                    await say("250 OK")
                elif verb == "DATA":
                    await say("354 End data with <CR><LF>.<CR><LF>")
                    data = bytearray()
                    while (chunk := await reader.readline()) not in (b".\r\n", b".\n", b""):
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    parsed = BytesParser(policy=policy.default).parsebytes(bytes(data))
                    assert isinstance(parsed, EmailMessage)
                    self.messages.append(parsed)
                    self.envelopes.append((sender, list(recipients)))
                    await say("250 OK: queued")
                elif verb in ("RSET", "NOOP"):
                    await say("250 OK")
                elif verb == "QUIT":
                    await say("221 Bye")
                    break
                else:
                    await say("502 Command not implemented")
        finally:
            writer.close()
