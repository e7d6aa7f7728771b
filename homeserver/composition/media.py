"""The media domain: the content repository over a storage back end."""

from __future__ import annotations

from pathlib import Path

import attrs

from homeserver.composition.core import Core
from homeserver.services.media.repository import MediaRepository
from homeserver.services.media.storage import LocalMediaStorage
from homeserver.storage.stores.media import MediaStore


@attrs.frozen(kw_only=True)
class MediaBundle:
    """Uploads and downloads of media."""

    repository: MediaRepository

    @classmethod
    def build(cls, *, core: Core, data_dir: Path) -> MediaBundle:
        config = core.config.media
        root = Path(config.media_store_path)
        if not root.is_absolute():
            root = data_dir / root
        return cls(
            repository=MediaRepository(
                server_name=core.server_name,
                store=MediaStore(core.db),
                storage=LocalMediaStorage(root, core.blocking_runner),
                config=config,
                clock=core.clock,
            )
        )
