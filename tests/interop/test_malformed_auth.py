"""A malformed X-Matrix header is answered as Synapse answers it.

An origin that is no server name (``localhost:http``: a port that is not a
number) makes the header malformed: 400 ``M_UNAUTHORIZED`` from Synapse and
from us alike, not the 401 of a signature that could not be checked.
"""

from __future__ import annotations

import pytest

from tests.interop.chatly import Chatly
from tests.interop.client import HttpError, request
from tests.interop.synapse import Synapse


# Not "a.test:123456": the spec's grammar allows at most five port digits and
# we answer 400, but Synapse parses any number and fails later, at the key
# lookup, with 401.
@pytest.mark.parametrize("origin", ["localhost:http", "bad_name", "[::1", "a b"])
def test_an_origin_that_is_no_server_name_is_400_on_both(
    chatly: Chatly, synapse: Synapse, origin: str
) -> None:
    answers = []
    for server in (synapse, chatly):
        header = (
            f'X-Matrix origin="{origin}",destination="{server.server_name}",'
            'key="ed25519:k1",sig="c2lnbmF0dXJl"'
        )
        with pytest.raises(HttpError) as info:
            request(
                "GET",
                f"{server.federation_url}/_matrix/federation/v1/query/profile"
                "?user_id=%40nobody%3Aexample.org",
                headers={"Authorization": header},
            )
        answers.append((info.value.status, info.value.errcode))
    assert answers == [(400, "M_UNAUTHORIZED"), (400, "M_UNAUTHORIZED")]
