"""The media admin API's services: info, quarantine and deletion of media,
over the media bundle's storage and the accounts' users."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.media import MediaBundle
from homeserver.services.media.admin import MediaAdmin
from homeserver.services.media.admin_delete import MediaDeletion
from homeserver.services.media.admin_remote import RemoteMediaAdmin
from homeserver.storage.stores.media_admin import MediaAdminStore


@attrs.frozen(kw_only=True)
class MediaAdminBundle:
    """The services behind ``/_synapse/admin/v1/media/...`` and friends."""

    admin: MediaAdmin
    deletion: MediaDeletion

    @classmethod
    def build(
        cls, *, core: Core, accounts: AccountsBundle, media: MediaBundle
    ) -> MediaAdminBundle:
        store = MediaAdminStore(core.db)
        remote = RemoteMediaAdmin(
            store=store, cache=media.repository.remote, clock=core.clock
        )
        admin = MediaAdmin(
            server_name=core.server_name,
            store=store,
            users=accounts.stores.users,
            remote=remote,
        )
        deletion = MediaDeletion(
            server_name=core.server_name,
            store=store,
            storage=media.repository.storage,
            admin=admin,
            thumbnails=media.thumbnails,
        )
        return cls(admin=admin, deletion=deletion)
