"""The relations domain: the relations index, GET /relations and /threads,
bundled aggregations, and the checks on sent relations (docs/relations.md)."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.composition.reading import ReadingBundle
from homeserver.services.relations.aggregations import BundledAggregations
from homeserver.services.relations.relations import RelationsService
from homeserver.services.relations.validation import RelationValidator
from homeserver.services.relations.viewer import RelatedEventsViewer
from homeserver.storage.stores.relations import RelationsStore


@attrs.frozen(kw_only=True)
class RelationsBundle:
    """Relations and threads."""

    store: RelationsStore
    viewer: RelatedEventsViewer
    aggregations: BundledAggregations
    validator: RelationValidator
    service: RelationsService

    @classmethod
    def build(cls, *, core: Core, reading: ReadingBundle) -> RelationsBundle:
        store = RelationsStore(core.db, core.childless)
        viewer = RelatedEventsViewer(reading.visibility)
        return cls(
            store=store,
            viewer=viewer,
            aggregations=BundledAggregations(
                events=core.events,
                store=store,
                viewer=viewer,
                serializer=reading.serializer,
            ),
            validator=RelationValidator(core.events, store),
            service=RelationsService(
                events=core.events,
                store=store,
                visibility=reading.visibility,
                viewer=viewer,
                serializer=reading.serializer,
            ),
        )
