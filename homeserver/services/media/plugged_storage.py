"""``PluggedMediaStorage``: a media back end a plugin provides.

``media.storage.backend`` may name a back end that a plugin provides
(``chatly_media_storage``, docs/plugins.md). Plugins are constructed after the
media domain is built, so the media services get this stand-in, and the bind
step plugs the plugin's storage into it before the server starts.
"""

from __future__ import annotations

from homeserver.services.media.storage import MediaStorage
from homeserver.util.ports import Port


class _Unplugged(MediaStorage):
    def __init__(self, backend: str) -> None:
        self.backend = backend

    def _missing(self) -> RuntimeError:
        return RuntimeError(f"media storage back end {self.backend!r} is not plugged")

    async def store(self, path: str, data: bytes) -> None:
        raise self._missing()

    async def fetch(self, path: str) -> bytes | None:
        raise self._missing()

    async def delete(self, path: str) -> None:
        raise self._missing()

    async def exists(self, path: str) -> bool:
        raise self._missing()


class PluggedMediaStorage(MediaStorage):
    """Delegates to the storage a plugin provides for ``backend``."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.impl: Port[MediaStorage] = Port(_Unplugged(backend))

    async def store(self, path: str, data: bytes) -> None:
        await self.impl.get().store(path, data)

    async def fetch(self, path: str) -> bytes | None:
        return await self.impl.get().fetch(path)

    async def delete(self, path: str) -> None:
        await self.impl.get().delete(path)

    async def exists(self, path: str) -> bool:
        return await self.impl.get().exists(path)
