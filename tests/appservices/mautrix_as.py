"""mautrix-python's ``AppService`` (PyPI ``mautrix``), unchanged, as the
application service: its aiohttp server runs on an asyncio loop in a thread
of its own and records what its handlers get."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from mautrix.appservice import AppService
from mautrix.appservice.state_store.memory import ASStateStore
from mautrix.client.state_store.memory import MemoryStateStore

from tests.ports import free_port


class _StateStore(ASStateStore, MemoryStateStore):
    """mautrix's in-memory stores (no mx-state.json in the working directory)."""

    def __init__(self) -> None:
        ASStateStore.__init__(self)
        MemoryStateStore.__init__(self)


class MautrixAppService:
    """A started mautrix ``AppService`` on loopback.

    Attributes:
        events: (ephemeral?, event type, serialized event) its event handler
            got, in order.
        to_device / device_lists / otk_counts: what its MSC2409/MSC3202
            handlers got.
    """

    def __init__(
        self,
        *,
        as_token: str,
        hs_token: str,
        as_id: str,
        port: int | None = None,
        server: str = "http://127.0.0.1:9",
        domain: str = "test",
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.events: list[tuple[bool, str, dict[str, Any]]] = []
        self.to_device: list[dict[str, Any]] = []
        self.device_lists: list[Any] = []
        self.otk_counts: list[Any] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.server, self.domain = server, domain
        self.appservice = self._run(self._start(as_token, hs_token, as_id))

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the AS's loop (e.g. an ``IntentAPI`` call) and
        return its result."""
        return self._run(coro)

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    async def _start(self, as_token: str, hs_token: str, as_id: str) -> AppService:
        appservice = AppService(
            # By default never asked (the tests drive our API); the client-side
            # tests (mautrix_harness.py) give a real server.
            server=self.server,
            domain=self.domain,
            as_token=as_token,
            hs_token=hs_token,
            bot_localpart="bridgebot",
            id=as_id,
            state_store=_StateStore(),
            ephemeral_events=True,
            encryption_events=True,
        )
        appservice.synchronous_handlers = True

        async def on_event(event: Any) -> None:
            ephemeral = event.type.is_ephemeral
            self.events.append((ephemeral, str(event.type), event.serialize()))

        async def on_to_device(event: Any) -> None:
            self.to_device.append(event.serialize())

        async def on_device_lists(lists: Any) -> None:
            self.device_lists.append(lists)

        async def on_otk(counts: Any) -> None:
            self.otk_counts.append(counts)

        appservice.matrix_event_handler(on_event)
        appservice.to_device_handler = on_to_device
        appservice.device_list_handler = on_device_lists
        appservice.otk_handler = on_otk
        await appservice.start("127.0.0.1", self.port)
        return appservice

    def messages(self) -> list[str]:
        return [
            e["content"].get("body", "")
            for ephemeral, kind, e in self.events
            if not ephemeral and kind == "m.room.message"
        ]

    def ephemeral(self, kind: str) -> list[dict[str, Any]]:
        return [e for ephemeral, t, e in self.events if ephemeral and t == kind]

    def close(self) -> None:
        self._run(self.appservice.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
