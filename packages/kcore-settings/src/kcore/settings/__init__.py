"""kcore.settings: one value per setting, from files, flags or the environment.

Settings come from YAML, ``name=value`` or dict-literal files and strings
(with ``!include``), command-line flags, environment variables that override
everything and environment variables that only supply defaults, in the order
documented in :mod:`kcore.settings._core`::

    from kcore.settings import Settings

    s = Settings("settings.yaml", flag_prefix="")
    s.add_setting("port", default=8080, env_name="PORT", doc="listen port")
    s.add_setting("db_password", override_env_name="DB_PASSWORD", env_list_split=False)
    port = s.get_int("port")

``k_settings`` (see :mod:`kcore.settings.cli`) prints settings for shell
scripts, quoted for ``eval``.

Importing this package reads no file and does not import PyYAML.
"""

__version__ = "0.1.0"

from kcore.settings._core import Setting, Settings, SettingsGroup, eval_bool
from kcore.settings._formats import (
    MAX_VALUE_NODES,
    SettingsError,
    expand_home,
    home_dir,
    parse_dict,
    parse_env,
    parse_yaml,
)
from kcore.settings._loader import (
    MAX_FILE_BYTES,
    MAX_INCLUDE_DEPTH,
    MAX_INCLUDED_FILES,
    MAX_TOTAL_BYTES,
)
from kcore.settings.cli import main, parse_main_args, print_selected_settings

__all__ = [
    "HOME",
    "MAX_FILE_BYTES",
    "MAX_INCLUDED_FILES",
    "MAX_INCLUDE_DEPTH",
    "MAX_TOTAL_BYTES",
    "MAX_VALUE_NODES",
    "Setting",
    "Settings",
    "SettingsError",
    "SettingsGroup",
    "eval_bool",
    "expand_home",
    "home_dir",
    "main",
    "parse_dict",
    "parse_env",
    "parse_main_args",
    "parse_yaml",
    "print_selected_settings",
]


def __getattr__(name: str) -> str:
    # HOME is computed when read, not at import: an import must not fail (no TTY,
    # no login name) and must not freeze a value the environment may still change.
    if name == "HOME":
        return home_dir()
    raise AttributeError("module 'kcore.settings' has no attribute %r" % name)
