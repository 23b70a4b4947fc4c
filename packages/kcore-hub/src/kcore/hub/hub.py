"""The hub: one Kaithem instance with the configured tags, devices, state
machines, alerts, users and scripts, an optional MQTT bridge, saved state,
and in front the kcore web server of ``kaithem.web`` (logins, widgets) with
the hub's dashboard and JSON API.

::

    from kcore.hub import Hub, load_config

    hub = Hub(load_config(), data_dir="/tmp/hub")
    url = hub.start(port=8765)   # serves until hub.stop()
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from kcore.common import logger as _logger
from kcore.hub.automation import Automation
from kcore.hub.config import HubConfig, TagSpec
from kcore.hub.datadir import DataDir, HubError, api_token, generate_password, read_secret_file
from kcore.hub.devices import HubDevices
from kcore.hub.scripting import ScriptHub, ScriptRunner
from kcore.hub.tagtable import Origin, TagTable

ADMIN = "admin"
ADMINS = "admins"
SAVE_INTERVAL = 30.0  # seconds between saves of changed state (SD cards wear out)
SUN_INTERVAL = 60.0
SUN_TAG = "/system/sun/is_day"


class Hub:
    """A running hub (see the module docstring). ``out`` receives the lines
    meant for the operator's terminal (the URL, a first admin password)."""

    def __init__(
        self,
        config: HubConfig,
        data_dir: str,
        *,
        api_token_file: Optional[str] = None,
        admin_password_file: Optional[str] = None,
        out: Callable[[str], None] = print,
    ) -> None:
        self.config = config
        self.data = DataDir(data_dir)
        self.api_token_file = _path(api_token_file or config.api_token_file)
        self.admin_password_file = _path(admin_password_file or config.admin_password_file)
        self.out = out
        self.hub_id = ""
        self.api_token: Optional[str] = None
        self.kaithem: Any = None
        self.table: Any = None
        self.devices: Any = None
        self.automation: Any = None
        self.scripts: Any = None
        self.mqtt: Any = None
        self.server: Any = None
        self.dashboard: Any = None
        self.url = ""
        self.started_at = 0.0
        self._jobs: List[Any] = []
        self._dirty = False
        self._save_lock = threading.Lock()
        self._stopped = False

    # -- start ---------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 8765, serve: bool = True) -> str:
        """Bring everything up; returns the URL (empty with ``serve=False``).
        Raises :class:`~kcore.hub.datadir.HubError` saying what went wrong."""
        self.data.open()
        try:
            self._start(host, port, serve)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _start(self, host: str, port: int, serve: bool) -> None:
        from kcore.kaithem import Kaithem

        cfg = self.config
        self.started_at = time.time()
        self.hub_id = cfg.hub_id or self.data.hub_id()
        if self.api_token_file:
            self.api_token = api_token(self.api_token_file)
        loc = cfg.location
        kconfig: Dict[str, Any] = {}
        if loc is not None and loc.timezone:
            kconfig["timezone"] = loc.timezone
        kconfig["web-allowed-origins"] = list(cfg.web.allowed_origins)
        kconfig["web-allow-insecure-login"] = cfg.web.allow_insecure_login
        self.kaithem = Kaithem(
            vardir=self.data.path,
            config=kconfig,
            location=None if loc is None else (loc.lat, loc.lon),
        ).start()
        self._setup_users()
        self.table = TagTable(self.kaithem)
        for spec in cfg.tags.values():
            self.table.set_spec(spec)
        self.devices = HubDevices(self.kaithem, self.table, cfg.hardware)
        self.devices.start()
        self._create_config_tags()
        saved = self.data.load_state()
        self._restore_tags(saved["tags"])
        self.table.start()
        self.table.add_listener(self._mark_dirty)
        self.automation = Automation(self.kaithem, self.table, cfg.machines, cfg.alerts)
        self.automation.start(saved["machines"])
        if loc is not None:
            self._update_sun()
            self._jobs.append(self.kaithem.runtime.scheduler.every(self._update_sun, SUN_INTERVAL))
        self._jobs.append(self.kaithem.runtime.scheduler.every(self._save_if_dirty, SAVE_INTERVAL))
        facade = ScriptHub(
            self.hub_id, self.automation.machines, self.devices, self.data.path, cfg.title
        )
        self.scripts = ScriptRunner(self.kaithem, facade, cfg.scripts)
        self.scripts.start()
        if cfg.mqtt is not None:
            from kcore.hub.mqtt import MqttBridge

            self.mqtt = MqttBridge(cfg.mqtt, self.hub_id, self.kaithem, self.table)
            self.mqtt.start()
        if serve:
            self._serve(host, port)

    def _serve(self, host: str, port: int) -> None:
        import ssl

        from kcore.common import logger as log
        from kcore.hub.web import install, introspection_guard
        from kcore.hub.widgets import Dashboard
        from kcore.webserver import LoggingAdapter

        self.dashboard = Dashboard(self)
        self.dashboard.start()
        adapter = LoggingAdapter(
            log_request=log.log_debug,
            log_404=log.log_debug,
            log_general=log.log_info,
            log_exceptions=log.log_error,
            get_logz_html=log.last_logs_html,
        )
        web = self.config.web
        tls = (web.tls_cert_file, web.tls_key_file) if web.tls_cert_file else None
        for path in (web.tls_cert_file, web.tls_key_file) if tls else ():
            if not path or not os.access(path, os.R_OK):
                raise HubError("web.tls: cannot read %s" % path)
        try:
            server = self.kaithem.web.serve(
                host=host,
                port=port,
                tls=tls,
                logging_adapter=adapter,
                threads=8,
                max_body=65536,
                flagz_args=self.flags(),
                introspection_auth=introspection_guard(self),
            )
        except ssl.SSLError as e:
            raise HubError(
                "web.tls: cannot use %s and %s: %s"
                % (web.tls_cert_file, web.tls_key_file, e.reason or e)
            ) from None
        except OSError as e:
            raise HubError("cannot listen on %s:%d: %s" % (host, port, e.strerror or e)) from None
        install(server, self)
        self.server = server
        shown = "[%s]" % host if ":" in host else host
        self.url = "%s://%s:%d/" % ("https" if tls else "http", shown, int(server.port or port))

    def flags(self) -> Dict[str, Any]:
        """What /flagz shows (secret file names are fine, their contents never appear)."""
        return {
            "config": self.config.source,
            "data": self.data.path,
            "hub_id": self.hub_id,
            "api_token_file": self.api_token_file,
            "mqtt": None if self.config.mqtt is None else self.config.mqtt.host,
        }

    # -- users ---------------------------------------------------------------

    def _setup_users(self) -> None:
        users = self.kaithem.users
        cfg = self.config
        if ADMINS not in users.groups():
            users.add_group(ADMINS, ["__all_permissions__"])
        for group, perms in cfg.groups.items():
            if group not in users.groups():
                users.add_group(group, perms)
            for p in perms:
                if p not in users.group_permissions(group):
                    users.add_group_permission(group, p)
        if self.admin_password_file:
            password = read_secret_file(self.admin_password_file, "admin password")
            self._ensure_user(ADMIN, password, [ADMINS])
        elif ADMIN not in users.users():
            password = generate_password(self.kaithem.misc.effwords)
            users.add_user(ADMIN, password, [ADMINS])
            self.out(
                "kcore-hub: created user %r with password: %s\n"
                "kcore-hub: (shown once; only its scrypt hash is stored, in %s)"
                % (ADMIN, password, users.filename)
            )
        for user in cfg.users.values():
            secret: Optional[str] = None
            if user.password_file:
                secret = read_secret_file(user.password_file, "password of user %s" % user.name)
            self._ensure_user(user.name, secret, user.groups)

    def _ensure_user(self, name: str, password: Optional[str], groups: List[str]) -> None:
        users = self.kaithem.users
        if name not in users.users():
            if password is None:
                raise HubError("user %s needs a password_file to be created" % name)
            users.add_user(name, password, groups)
            return
        if password is not None and not users.check_password(name, password):
            users.set_password(name, password)
        for g in groups:
            if g not in users.user_groups(name):
                users.add_user_to_group(name, g)

    # -- tags ------------------------------------------------------------------

    def _create_config_tags(self) -> None:
        from kcore.kaithem.tags import TagTypeError

        k = self.kaithem
        config_origin = Origin("config", "hub.yaml", 0.0)  # timestamp 0: never wins over data
        for spec in self.config.tags.values():
            if spec.name in k.tags:
                continue  # a device tag: the device made it
            try:
                if spec.type == "string":
                    tag = k.tags.StringTag(spec.name)
                elif spec.type == "object":
                    tag = k.tags.ObjectTag(spec.name)
                else:
                    tag = k.tags.NumericTag(spec.name, spec.min, spec.max)
                    if spec.unit:
                        tag.unit = spec.unit
                tag.description = spec.description
                if spec.default is not None:
                    tag(spec.default, None, config_origin)
            except (TagTypeError, TypeError, ValueError) as e:
                raise HubError("%s: tag %s: %s" % (self.config.source, spec.name, e)) from None

    def _restore_tags(self, saved: Dict[str, Any]) -> None:
        for name, entry in saved.items():
            spec = self.table.specs.get(name)
            tag = self.kaithem.tags.get(name)
            if spec is None or tag is None or not spec.persist or not isinstance(entry, dict):
                continue
            stamp = entry.get("timestamp")
            if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
                stamp = 0.0
            try:
                tag(entry.get("value"), None, Origin("restore", "state.json", stamp))
            except (TypeError, ValueError) as e:
                _logger.log_warning("hub: saved value of %s not restored: %s" % (name, e))

    def _mark_dirty(self, name: str, value: Any, wall: float, origin: Optional[Origin]) -> None:
        if self.table.spec(name).persist and name in self.table.specs:
            self._dirty = True

    def _save_if_dirty(self) -> None:
        if self._dirty:
            self.save()

    def save(self) -> None:
        """Write the persistent tag values and machine states now."""
        with self._save_lock:
            self._dirty = False
            tags: Dict[str, Any] = {}
            for name, spec in self.table.specs.items():
                tag = self.kaithem.tags.get(name)
                if tag is None or not spec.persist or tag.timestamp == 0:
                    continue
                value = tag.value
                if isinstance(value, (bytes, bytearray)):
                    continue
                if isinstance(value, float) and not math.isfinite(value):
                    continue
                tags[name] = {"value": value, "timestamp": self.table.wall.get(name, 0.0)}
            machines = self.automation.machine_states() if self.automation else {}
            try:
                self.data.save_state(tags, machines)
            except (OSError, TypeError, ValueError) as e:
                self._dirty = True
                _logger.log_error("hub: saving state failed: %r" % (e,))

    def tag_spec(self, name: str) -> TagSpec:
        return self.table.spec(name)  # type: ignore[no-any-return]

    # -- sun ---------------------------------------------------------------------

    def sun(self) -> Optional[Dict[str, Any]]:
        """Today's sun times at the configured location (Unix times; None if the
        sun does not rise or set today there)."""
        loc = self.config.location
        if loc is None:
            return None
        t = self.kaithem.time
        tz = loc.timezone
        out: Dict[str, Any] = {"location": loc.name, "lat": loc.lat, "lon": loc.lon}
        for key, fn in (
            ("dawn", t.civil_dawn_time),
            ("sunrise", t.sunrise_time),
            ("sunset", t.sunset_time),
            ("dusk", t.civil_dusk_time),
        ):
            try:
                out[key] = fn(tz=tz)
            except ValueError:
                out[key] = None
        try:
            out["is_day"] = bool(t.is_day())
        except ValueError:
            out["is_day"] = None
        return out

    def _update_sun(self) -> None:
        sun = self.sun()
        if sun is None or sun["is_day"] is None:
            return
        if SUN_TAG not in self.table.specs:
            self.table.set_spec(TagSpec(name=SUN_TAG, writable=False, persist=False, public=True))
        self.kaithem.tags[SUN_TAG](1 if sun["is_day"] else 0, None, Origin("sun", "hub"))

    # -- health ----------------------------------------------------------------

    def health(self) -> Optional[str]:
        """None when everything is fine, else what is degraded."""
        problems = []
        if self.mqtt is not None:
            problem = self.mqtt.health()
            if problem:
                problems.append(problem)
        if self.scripts is not None:
            broken = [s.name for s in self.scripts.scripts if s.status in ("error", "missing")]
            if broken:
                problems.append("scripts: %s failed" % ", ".join(broken))
        return "; ".join(problems) or None

    # -- stop ------------------------------------------------------------------

    def stop(self) -> None:
        """Stop serving, release scripts, say goodbye to the broker, save state,
        close devices and the Kaithem instance, free the data directory."""
        if self._stopped:
            return
        self._stopped = True
        if self.kaithem is not None:
            self.kaithem.web.close()  # stops the server and its widget sockets
        if self.dashboard is not None:
            self.dashboard.close()
        for job in self._jobs:
            job.cancel()
        if self.scripts is not None:
            self.scripts.close()
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.table is not None and self.automation is not None:
            self.save()
        if self.automation is not None:
            self.automation.close()
        if self.table is not None:
            self.table.close()
        if self.devices is not None:
            self.devices.close()
        if self.kaithem is not None:
            self.kaithem.close()
        self.data.close()
        _logger.log_info("hub: stopped")


def _path(value: Optional[str]) -> Optional[str]:
    return os.path.abspath(os.path.expanduser(value)) if value else None
