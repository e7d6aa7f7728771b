"""The registry of loaded application-service registrations: lookups by
``as_token`` and ``id``, namespace ownership across all of them, and the
start-up (and reload) validation of the whole set."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from homeserver.services.appservices.clash import overlaps
from homeserver.services.appservices.registration import (
    NAMESPACE_KINDS,
    AppServiceRegistration,
    RegistrationError,
    load_registration_file,
)


class AppServiceRegistry:
    """Every registered application service; ``replace`` swaps the whole set
    (a reload) at once.

    Args:
        registrations: the validated set (``validate_registrations``).
    """

    def __init__(self, registrations: Sequence[AppServiceRegistration] = ()) -> None:
        self._by_token: dict[str, AppServiceRegistration] = {}
        self._by_id: dict[str, AppServiceRegistration] = {}
        self._all: tuple[AppServiceRegistration, ...] = ()
        self.replace(registrations)

    def replace(self, registrations: Sequence[AppServiceRegistration]) -> None:
        """Use ``registrations`` from now on (validated first).

        Raises:
            RegistrationError: the set is inconsistent; nothing changes.
        """
        validate_registrations(registrations)
        self._all = tuple(registrations)
        self._by_token = {r.as_token: r for r in registrations}
        self._by_id = {r.id: r for r in registrations}

    def all(self) -> Sequence[AppServiceRegistration]:
        """Every registration."""
        return self._all

    def by_token(self, as_token: str) -> AppServiceRegistration | None:
        """The registration whose ``as_token`` this is."""
        return self._by_token.get(as_token)

    def by_id(self, appservice_id: str) -> AppServiceRegistration | None:
        """The registration with this ``id``."""
        return self._by_id.get(appservice_id)

    def exclusive_owner_of_user(self, user_id: str) -> AppServiceRegistration | None:
        """The registration that claims ``user_id`` exclusively, if any."""
        return next((r for r in self._all if r.is_exclusive_user(user_id)), None)

    def exclusive_owner_of_alias(self, alias: str) -> AppServiceRegistration | None:
        """The registration that claims ``alias`` exclusively, if any."""
        return next((r for r in self._all if r.is_exclusive_alias(alias)), None)

    def interested_in_user(self, user_id: str) -> list[AppServiceRegistration]:
        """The registrations whose users namespaces cover ``user_id``."""
        return [r for r in self._all if r.is_interested_in_user(user_id)]


def load_registrations(
    paths: Sequence[str], server_name: str, base_dir: Path | None = None
) -> list[AppServiceRegistration]:
    """Read and validate every listed registration file (relative paths are
    taken from ``base_dir``, the data directory).

    Raises:
        RegistrationError: the first problem, naming its file(s).
    """
    registrations = []
    for name in paths:
        path = Path(name)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        registrations.append(load_registration_file(path, server_name))
    validate_registrations(registrations)
    return registrations


def validate_registrations(registrations: Sequence[AppServiceRegistration]) -> None:
    """Check a set of registrations against each other: unique ``id``,
    ``as_token``, ``hs_token`` and sender, and no exclusive namespace that
    another registration's exclusive namespace overlaps.

    Raises:
        RegistrationError: naming both files.
    """
    for field in ("id", "as_token", "hs_token", "sender"):
        seen: dict[str, AppServiceRegistration] = {}
        for reg in registrations:
            value = getattr(reg, field)
            if value in seen:
                what = (
                    field if field in ("as_token", "hs_token") else f"{field} {value!r}"
                )
                raise RegistrationError(
                    f"{reg.source} and {seen[value].source} have the same {what}"
                )
            seen[value] = reg
    for i, first in enumerate(registrations):
        for second in registrations[i + 1 :]:
            _check_clash(first, second)


def _check_clash(a: AppServiceRegistration, b: AppServiceRegistration) -> None:
    for kind in NAMESPACE_KINDS:
        for ns_a in a.namespaces(kind):
            for ns_b in b.namespaces(kind):
                if (
                    ns_a.exclusive
                    and ns_b.exclusive
                    and overlaps(ns_a.regex, ns_b.regex)
                ):
                    raise RegistrationError(
                        f"exclusive {kind} namespaces clash: {ns_a.regex!r} of "
                        f"{a.source} (id {a.id!r}) and {ns_b.regex!r} of "
                        f"{b.source} (id {b.id!r})"
                    )
