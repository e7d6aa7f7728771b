"""A plain-socket IRC client for tests: the user on the IRC side of a bridge.

Blocking and line-based, so a test reads as a conversation: ``send``, then
``wait_for`` a line matching a predicate (a generous deadline, never a timed
assertion). PINGs are answered while waiting.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import attrs

WAIT_TIMEOUT = 60.0


@attrs.frozen
class IrcLine:
    """A parsed IRC message: ``prefix`` (nick!user@host or server), command, params."""

    prefix: str
    command: str
    params: list[str]

    @property
    def nick(self) -> str:
        return self.prefix.split("!", 1)[0]

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""


def parse_line(raw: str) -> IrcLine:
    """Parse one IRC protocol line (RFC 1459 framing)."""
    prefix = ""
    if raw.startswith(":"):
        prefix, _, raw = raw[1:].partition(" ")
    trailing = None
    if " :" in raw:
        raw, _, trailing = raw.partition(" :")
    parts = raw.split()
    params = parts[1:] + ([trailing] if trailing is not None else [])
    return IrcLine(prefix, parts[0].upper() if parts else "", params)


class IrcTestClient:
    """One registered IRC connection."""

    def __init__(self, host: str, port: int, nick: str) -> None:
        self.nick = nick
        self.lines: list[IrcLine] = []
        self._buffer = b""
        self._sock = socket.create_connection((host, port), timeout=WAIT_TIMEOUT)
        self.send(f"NICK {nick}")
        self.send(f"USER {nick} 0 * :{nick} (test)")
        self.wait_for(lambda line: line.command == "001")

    def send(self, line: str) -> None:
        self._sock.sendall(line.encode() + b"\r\n")

    def join(self, channel: str) -> None:
        self.send(f"JOIN {channel}")
        self.wait_for(lambda line: line.command == "366" and channel in line.params)

    def say(self, target: str, text: str) -> None:
        self.send(f"PRIVMSG {target} :{text}")

    def _read(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("IRC server closed the connection")
        self._buffer += chunk
        while b"\r\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\r\n", 1)
            line = parse_line(raw.decode("utf-8", "replace"))
            if line.command == "PING":
                self.send(f"PONG :{line.text}")
            self.lines.append(line)

    def wait_for(
        self, predicate: Callable[[IrcLine], bool], timeout: float = WAIT_TIMEOUT
    ) -> IrcLine:
        """The first line not yet consumed that matches ``predicate``.

        Lines seen before are searched too, and a matched line is removed, so
        two waits for the same kind of line get two different lines.
        """
        deadline = time.monotonic() + timeout
        while True:
            for index, line in enumerate(self.lines):
                if predicate(line):
                    del self.lines[index]
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = "\n".join(str(line) for line in self.lines[-20:])
                raise AssertionError(f"no matching IRC line; last lines:\n{seen}")
            self._sock.settimeout(remaining)
            try:
                self._read()
            except TimeoutError:
                continue

    def wait_for_member(self, channel: str, nick: str) -> None:
        """Wait until ``nick`` is in ``channel``: its JOIN, or the NAMES
        listing (353) this client got when it joined after ``nick``."""
        lowered = nick.lower()

        def present(line: IrcLine) -> bool:
            if line.command == "JOIN":
                return line.nick.lower() == lowered and channel in line.params
            if line.command == "353" and channel in line.params:
                names = {name.lstrip("~&@%+").lower() for name in line.text.split()}
                return lowered in names
            return False

        self.wait_for(present)

    def close(self) -> None:
        try:
            self.send("QUIT :bye")
        except OSError:
            pass
        self._sock.close()
