"""``synctl workers generate``: the reverse-proxy config of a worker deployment.

Reads ``workers`` from homeserver.yaml, resolves the route map
(``homeserver/workers/routes.py``) against the instances and writes a
complete nginx or HAProxy config (docs/scaling.md, "The proxy config").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.yamlfile import write_text_atomically
from homeserver.config import HomeserverConfig
from homeserver.workers.proxy_haproxy import render_haproxy
from homeserver.workers.proxy_nginx import render_nginx
from homeserver.workers.proxy_plan import ProxyPlan, build_plan
from homeserver.workers.roles import main_internal_port

DEFAULT_LISTEN = "8080"


def plan_for(config: HomeserverConfig) -> ProxyPlan:
    """The proxy plan of a deployment's config."""
    return build_plan(
        config.workers.instances,
        main_port=main_internal_port(config),
        stream_writers=config.workers.stream_writers,
        websocket_path=config.websocket.path,
        max_body_size=max(
            int(config.http.max_request_body_size), int(config.media.max_upload_size)
        ),
    )


def generate(
    data_dir: DataDir,
    *,
    haproxy: bool = False,
    listen: list[str] | None = None,
    runtime_dir: Path | None = None,
    tls: tuple[Path, Path] | None = None,
) -> str:
    """The proxy config text for ``data_dir``'s deployment.

    Args:
        data_dir: the data directory (its homeserver.yaml).
        haproxy: HAProxy instead of nginx.
        listen: addresses the proxy listens on (nginx ``listen`` / HAProxy
            ``bind`` arguments); default port 8080.
        runtime_dir: nginx's pid, log and temporary files; default
            ``DATA_DIR/nginx`` (created here).
        tls: nginx: (certificate chain, key) for ``... ssl`` listen addresses.
    """
    config = data_dir.load_config()
    plan = plan_for(config)
    source = str(data_dir.config)
    listen = listen or [DEFAULT_LISTEN]
    if haproxy:
        binds = [a if ":" in a else f":{a}" for a in listen]
        return render_haproxy(plan, binds=binds, source=source)
    run_dir = runtime_dir or data_dir.root / "nginx"
    run_dir.mkdir(parents=True, exist_ok=True)  # nginx creates the rest
    return render_nginx(
        plan, listen=listen, runtime_dir=run_dir, source=source, tls=tls
    )


def _tls(args: argparse.Namespace) -> tuple[Path, Path] | None:
    if (args.tls_certificate is None) != (args.tls_key is None):
        raise CliError("--tls-certificate and --tls-key go together")
    if args.tls_certificate is None:
        return None
    return args.tls_certificate.absolute(), args.tls_key.absolute()


def _run_generate(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    text = generate(
        data_dir,
        haproxy=args.haproxy,
        listen=args.listen,
        runtime_dir=args.runtime_dir.absolute() if args.runtime_dir else None,
        tls=_tls(args),
    )
    if not data_dir.load_config().workers.instances:
        print(
            "synctl: note: workers.instances is empty; every route goes to main",
            file=sys.stderr,
        )
    if args.out is None:
        sys.stdout.write(text)
        return 0
    write_text_atomically(args.out, text, mode=0o644)
    kind = "HAProxy" if args.haproxy else "nginx"
    print(f"Wrote the {kind} config to {args.out}")
    return 0


def add_parser(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``workers`` command and its ``generate`` subcommand."""
    workers = subparsers.add_parser(
        "workers",
        help="reverse-proxy config for a deployment with workers",
        description="Commands for deployments with worker processes "
        "(workers.instances; docs/scaling.md). synctl start, stop, restart and "
        "status act on the workers too.",
    )
    commands = workers.add_subparsers(dest="workers_command", required=True)
    parser = commands.add_parser(
        "generate",
        parents=parents,
        help="write an nginx or HAProxy config routing requests to the workers",
        description="Write a complete nginx (default) or HAProxy config from the "
        "worker config: reads and /sync to client readers (/sync and the "
        "WebSocket sticky per user by a hash of the access token, WebSocket "
        "upgrades passed through), federation to federation readers, media to "
        "media workers, stream writes to their writer, everything else to main; "
        "/_chatly/replication/ and /metrics are refused. Regenerate it after "
        "changing workers.instances.",
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--nginx", action="store_true", help="an nginx config (the default)"
    )
    kind.add_argument("--haproxy", action="store_true", help="an HAProxy config")
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="write here (default: stdout)"
    )
    parser.add_argument(
        "--listen",
        action="append",
        metavar="ADDR",
        help="where the proxy listens, e.g. 8080, 127.0.0.1:8080 or '443 ssl' "
        f"(repeatable; default: {DEFAULT_LISTEN})",
    )
    parser.add_argument(
        "--runtime-dir",
        type=Path,
        metavar="DIR",
        help="nginx: where its pid file, logs and temporary files go "
        "(default: DATA_DIR/nginx)",
    )
    parser.add_argument(
        "--tls-certificate",
        type=Path,
        metavar="FILE",
        help="nginx: the PEM certificate chain for listen addresses ending in "
        "'ssl' (e.g. --listen '8448 ssl' for federation)",
    )
    parser.add_argument(
        "--tls-key", type=Path, metavar="FILE", help="nginx: its private key"
    )
    parser.set_defaults(func=_run_generate)
