"""The reports domain: users report events, rooms and users; admins read them."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.reading import ReadingBundle
from homeserver.services.reports.admin import ReportAdmin
from homeserver.services.reports.filing import ReportService
from homeserver.storage.stores.reports import ReportStore


@attrs.frozen(kw_only=True)
class ReportsBundle:
    """Reporting content."""

    service: ReportService
    admin: ReportAdmin

    @classmethod
    def build(
        cls, *, core: Core, accounts: AccountsBundle, reading: ReadingBundle
    ) -> ReportsBundle:
        store = ReportStore(core.db)
        return cls(
            service=ReportService(
                server_name=core.server_name,
                store=store,
                events=core.events,
                room_state=core.room_state,
                users=accounts.stores.users,
                visibility=reading.visibility,
                ratelimiter=core.ratelimiter,
                rate=core.config.rate_limiting.reports,
                clock=core.clock,
            ),
            admin=ReportAdmin(store, core.events, core.room_state),
        )
