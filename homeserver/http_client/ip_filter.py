"""Which IP addresses outbound requests may go to (SSRF protection).

Used by federation's connector and by the client for untrusted URLs
(``homeserver.http_client.untrusted``). An IPv4-mapped IPv6 address
(``::ffff:127.0.0.1``) is judged as the IPv4 address it carries as well.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

# Always denied, whatever the configured lists say: "this host" and the
# unspecified address (connecting there reaches the local machine).
ALWAYS_DENIED = ("0.0.0.0/32", "::/128")


class IpFilter:
    """Which addresses outbound requests may go to.

    Args:
        blacklist: CIDR ranges never to connect to.
        whitelist: CIDR ranges allowed even though the blacklist covers them.
    """

    def __init__(self, blacklist: Iterable[str], whitelist: Iterable[str]) -> None:
        self.blacklist = [ipaddress.ip_network(n, strict=False) for n in blacklist]
        self.whitelist = [ipaddress.ip_network(n, strict=False) for n in whitelist]
        self._always = [ipaddress.ip_network(n) for n in ALWAYS_DENIED]

    def allowed(self, ip: str) -> bool:
        """Whether we may connect to ``ip`` (an IPv4 or IPv6 address)."""
        address = ipaddress.ip_address(ip.split("%", 1)[0])
        candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            candidates.append(address.ipv4_mapped)
        if any(c in net for c in candidates for net in self._always):
            return False
        for candidate in candidates:
            if any(candidate in net for net in self.whitelist):
                return True
        return not any(c in net for c in candidates for net in self.blacklist)
