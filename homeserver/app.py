"""Run one homeserver process: ``python -m homeserver --data-dir DIR``.

Loads the config, prepares the signing key and database, opens the listeners
and runs the reactor until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.python.threadpool import ThreadPool

from homeserver import __version__
from homeserver.composition import HomeServer, build_homeserver
from homeserver.config import ConfigError, HomeserverConfig, load_config
from homeserver.config.keyfile import ensure_signing_key
from homeserver.config.tls import load_tls_options
from homeserver.logging_setup import setup_logging
from homeserver.reload import install_sighup
from homeserver.services.appservices.registration import RegistrationError
from homeserver.storage.database import Database, thread_pool_runner
from homeserver.storage.engines import Engine, engine_for
from homeserver.storage.migrations import SchemaTooNewError
from homeserver.util.gc_tuning import tune_gc_after_start
from homeserver.util.structure import Problem
from homeserver.workers.roles import MAIN, UnknownWorker

logger = logging.getLogger(__name__)


def make_engine(config: HomeserverConfig, data_dir: Path) -> Engine:
    """The database engine the config asks for."""
    return engine_for(config.database, data_dir)


def _pool(name: str, minthreads: int, maxthreads: int, reactor: Any) -> ThreadPool:
    pool = ThreadPool(minthreads, maxthreads, name=name)
    reactor.callWhenRunning(pool.start)
    reactor.addSystemEventTrigger("during", "shutdown", pool.stop)
    return pool


def build_server(
    config: HomeserverConfig,
    data_dir: Path,
    reactor: Any,
    signing_key: Any,
    worker_name: str = MAIN,
) -> HomeServer:
    """A HomeServer wired to real thread pools, as process ``worker_name``.

    Raises:
        ConfigError: a worker deployment not on PostgreSQL (the processes
            share one database; tests build in-process deployments over any
            engine, so the config itself does not refuse it).
    """
    if config.workers.enabled and config.database.engine != "postgres":
        problem = Problem(
            "workers.instances",
            "every process of a worker deployment shares one PostgreSQL "
            "database: set database.engine to postgres",
        )
        raise ConfigError([problem])
    engine = make_engine(config, data_dir)
    db_threads = 1 if engine.single_threaded else config.database.pool_size()
    db_pool = _pool("db", 1, db_threads, reactor)
    cpu_pool = _pool("cpu", 1, 4, reactor)
    # Blocking network clients (boto3): bounded, and apart from the CPU pool.
    io_pool = _pool("io", 0, 10, reactor)
    db = Database(
        engine, thread_pool_runner(reactor, db_pool), config.database.txn_retries
    )
    reactor.addSystemEventTrigger("after", "shutdown", db.close)
    return build_homeserver(
        config=config,
        data_dir=data_dir,
        reactor=reactor,
        db=db,
        blocking_runner=thread_pool_runner(reactor, cpu_pool),
        signing_key=signing_key,
        io_runner=thread_pool_runner(reactor, io_pool),
        worker_name=worker_name,
    )


def listen(server: HomeServer, reactor: Any) -> None:
    """Open every configured listener."""
    from homeserver.api.http.site import HomeserverSite

    topology = server.workers.topology
    listeners = (
        server.config.listeners if topology.is_main else topology.worker_listeners()
    )
    for listener in listeners:
        resource = server.build_resource(
            listener.resources, x_forwarded=listener.x_forwarded
        )
        http_config = server.config.http
        site = HomeserverSite(
            resource,
            int(http_config.max_request_body_size),
            reactor,
            header_timeout=http_config.request_header_timeout / 1000,
            body_timeout=http_config.request_body_timeout / 1000,
            max_upload_size=int(server.config.media.max_upload_size),
            bodies_in_memory=server.config.media.storage.s3_only,
        )
        tls = None
        if listener.tls:
            tls = load_tls_options(server.config.tls, server.data_dir)
        for address in listener.bind_addresses:
            if tls is not None:
                reactor.listenSSL(
                    listener.port,
                    site,
                    tls,
                    backlog=listener.backlog,
                    interface=address,
                )
            else:
                reactor.listenTCP(
                    listener.port, site, backlog=listener.backlog, interface=address
                )
            scheme = "https" if tls is not None else "http"
            logger.info("listening on %s://%s:%d/", scheme, address, listener.port)


async def start(server: HomeServer, reactor: Any) -> None:
    """Migrate the database, then listen; stop the reactor on failure."""
    try:
        await server.setup()
        listen(server, reactor)
        logger.info(
            "Chatly %s started as %s (process %s)",
            __version__,
            server.config.server.server_name,
            server.workers.topology.this.name,
        )
        tune_gc_after_start()
    except SchemaTooNewError as exc:
        logger.error("%s", exc)
        print(f"error: {exc}", file=sys.stderr)
        server.exit_code = 1
        reactor.stop()
    except Exception as exc:
        logger.exception("start-up failed")
        print(f"error: start-up failed: {exc}", file=sys.stderr)
        server.exit_code = 1
        reactor.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m homeserver``."""
    parser = argparse.ArgumentParser(
        prog="python -m homeserver",
        description="Run the Chatly homeserver in the foreground.",
    )
    parser.add_argument(
        "--data-dir", default="./data", help="data directory (default ./data)"
    )
    parser.add_argument(
        "--config", help="config file (default DATA_DIR/homeserver.yaml)"
    )
    parser.add_argument(
        "--worker",
        default=MAIN,
        metavar="NAME",
        help="run as this worker of the config's workers.instances "
        "(default: the main process)",
    )
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir).resolve()
    config_path = Path(args.config) if args.config else data_dir / "homeserver.yaml"
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(exc.describe(), file=sys.stderr)
        return 1
    from twisted.internet import reactor as global_reactor

    reactor: Any = global_reactor
    setup_logging(config.logging, data_dir, args.worker)
    signing_key = ensure_signing_key(data_dir / config.server.signing_key_path)
    try:
        server = build_server(config, data_dir, reactor, signing_key, args.worker)
    except ConfigError as exc:
        # A plugin that cannot be loaded (PluginLoadError names it).
        logger.error("%s", exc.describe())
        print(exc.describe(), file=sys.stderr)
        return 1
    except RegistrationError as exc:
        print(f"error: application service registration: {exc}", file=sys.stderr)
        return 1
    except UnknownWorker as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    reactor.callWhenRunning(lambda: defer.ensureDeferred(start(server, reactor)))
    install_sighup(server, config_path, reactor)
    reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: defer.ensureDeferred(server.shutdown())
    )
    reactor.run()
    return int(server.exit_code)
