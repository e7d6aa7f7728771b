"""PUT /_matrix/federation/v1/send/{txnId}: inbound transactions.

Spec: server-server-api.md "Transactions".
"""

from __future__ import annotations

from homeserver.api.http.request import ApiRequest
from homeserver.federation.ingest.transactions import FederationTransactionService
from homeserver.federation.transport.inbound_auth import FederationAuthenticator
from homeserver.types import JsonDict


class FederationSendEndpoint:
    """Receive a transaction of PDUs and EDUs from another server."""

    PATTERNS = ["/_matrix/federation/v1/send/{txn_id}"]

    def __init__(
        self,
        authenticator: FederationAuthenticator,
        transactions: FederationTransactionService,
    ) -> None:
        self.authenticator = authenticator
        self.transactions = transactions

    async def on_PUT(self, request: ApiRequest, txn_id: str) -> JsonDict:
        origin = await self.authenticator.authenticate(request)
        # Each PDU and EDU is checked on its own, so that one bad unit is
        # dropped without failing the others.
        body = request.json(unchecked=("pdus", "edus"))
        return await self.transactions.on_transaction(origin, txn_id, body)
