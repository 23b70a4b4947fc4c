"""``kcore-hub``: run a hub until SIGTERM or Ctrl-C.

    kcore-hub [--config FILE] [--data DIR] [--host 127.0.0.1] [--port 8765]
              [--api-token-file FILE] [--admin-password-file FILE]
    kcore-hub --print-default-config > hub.yaml
    kcore-hub --check-config --config hub.yaml

Each option may also come from the environment (``KCORE_HUB_CONFIG``,
``KCORE_HUB_DATA``, ``KCORE_HUB_HOST``, ``KCORE_HUB_PORT``,
``KCORE_HUB_API_TOKEN_FILE``, ``KCORE_HUB_ADMIN_PASSWORD_FILE``); a flag wins.
Exit status: 0 after a clean stop, 1 if the hub cannot start, 2 for a bad
command line or configuration, 3 if another hub holds the data directory.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any, List, Optional

from kcore.hub import __version__


def _settings() -> Any:
    from kcore.hub.datadir import default_data_dir
    from kcore.settings import Settings

    s = Settings(flag_prefix="", value_mapper=None)
    s.add_setting(
        "config",
        doc="YAML configuration file (default: the embedded demo configuration)",
        env_name="KCORE_HUB_CONFIG",
    )
    s.add_setting(
        "data",
        doc="data directory: saved state, users, ids (default: %s)" % default_data_dir(),
        env_name="KCORE_HUB_DATA",
        default=default_data_dir,
    )
    s.add_setting(
        "host",
        doc="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
        env_name="KCORE_HUB_HOST",
        default="127.0.0.1",
    )
    s.add_setting(
        "port", doc="TCP port (default 8765; 0 picks a free one)", env_name="KCORE_HUB_PORT",
        flag_type=int, default=8765,
    )  # fmt: skip
    s.add_setting(
        "api_token_file",
        flag_name="api-token-file",
        doc="file holding the API bearer token (created, 0600, if missing)",
        env_name="KCORE_HUB_API_TOKEN_FILE",
    )
    s.add_setting(
        "admin_password_file",
        flag_name="admin-password-file",
        doc="file holding the admin password (otherwise one is made and printed once)",
        env_name="KCORE_HUB_ADMIN_PASSWORD_FILE",
    )
    return s


def parse_args(argv: Optional[List[str]]) -> Any:
    settings = _settings()
    ap = argparse.ArgumentParser(
        prog="kcore-hub",
        description="A small home-automation hub: tag points, devices, state machines, "
        "alerts, scripts and sun times, with a JSON API and MQTT across machines.",
    )
    settings.add_flags(ap)
    ap.add_argument(
        "--print-default-config", action="store_true", help="print the embedded configuration"
    )
    ap.add_argument("--check-config", action="store_true", help="validate the configuration")
    ap.add_argument("--version", action="version", version="kcore-hub " + __version__)
    args = ap.parse_args(argv)
    settings.set_args(args)
    port = settings.get_int("port")
    if port is None or not 0 <= port <= 65535:
        ap.error("--port must be a number from 0 to 65535, got %r" % settings.get("port"))
    args.port = port
    for name in ("config", "data", "host", "api_token_file", "admin_password_file"):
        setattr(args, name, settings.get(name))
    return args


def main(argv: Optional[List[str]] = None) -> int:
    from kcore.common import logger as log
    from kcore.hub.config import DEFAULT_CONFIG, ConfigError, load_config

    args = parse_args(argv)
    if args.print_default_config:
        with open(DEFAULT_CONFIG, encoding="utf-8") as f:
            sys.stdout.write(f.read())
        return 0
    try:
        config = load_config(args.config)
    except ConfigError as e:
        print("kcore-hub: configuration error: %s" % e, file=sys.stderr)
        return 2
    if args.check_config:
        print("kcore-hub: %s is valid" % config.source)
        return 0
    log.init_log("kcore-hub", logfile=None, filter_level_stderr=log.INFO)
    return run(config, args)


def run(config: Any, args: Any) -> int:
    from kcore.hub.datadir import DataDirInUse, HubError
    from kcore.hub.hub import Hub

    def out(line: str) -> None:
        print(line, flush=True)

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    hub = Hub(
        config,
        args.data,
        api_token_file=args.api_token_file,
        admin_password_file=args.admin_password_file,
        out=out,
    )
    try:
        try:
            url = hub.start(host=args.host, port=args.port)
        except DataDirInUse as e:
            print("kcore-hub: error: %s" % e, file=sys.stderr)
            return 3
        except HubError as e:
            print("kcore-hub: error: %s" % e, file=sys.stderr)
            return 1
        out("kcore-hub: hub %s serving %s (data in %s)" % (hub.hub_id, url, hub.data.path))
        while not stop.wait(3600):
            pass
        out("kcore-hub: stopping")
        hub.stop()
        out("kcore-hub: stopped")
        return 0
    finally:
        hub.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
