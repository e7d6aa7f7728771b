"""Application services, the registration side: the registry of the
registration files the config lists (``appservice.config_files``), loaded and
checked at start-up and re-read on a reload (SIGHUP)."""

from __future__ import annotations

import logging
from pathlib import Path

import attrs

from homeserver.composition.core import Core
from homeserver.services.appservices.registry import (
    AppServiceRegistry,
    load_registrations,
)

logger = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class AppServicesBundle:
    """The registration model of application services."""

    registry: AppServiceRegistry
    data_dir: Path
    server_name: str

    @classmethod
    def build(cls, *, core: Core, data_dir: Path) -> AppServicesBundle:
        """The registry, loaded from the configured files.

        Raises:
            RegistrationError: a file is invalid or two clash (start-up fails).
        """
        registrations = load_registrations(
            core.config.appservice.config_files, core.server_name, data_dir
        )
        logger.info(
            "application services registered",
            extra={"appservices": [r.id for r in registrations]},
        )
        return cls(
            registry=AppServiceRegistry(registrations),
            data_dir=data_dir,
            server_name=core.server_name,
        )

    def reload(self, config_files: list[str]) -> None:
        """Re-read ``config_files`` and use them from now on; on any problem
        the previous registrations stay.

        Raises:
            RegistrationError: the new set is invalid (nothing changed).
        """
        registrations = load_registrations(
            config_files, self.server_name, self.data_dir
        )
        self.registry.replace(registrations)
        logger.info(
            "application services reloaded",
            extra={"appservices": [r.id for r in registrations]},
        )
