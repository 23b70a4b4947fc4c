"""Where secret values come from (CPython only): typed at a prompt, read from
the environment or a file (:func:`special_arg_resolver`, for command-line and
settings values), or made fresh (:func:`random_printable`).

Not shipped to boards: it needs getpass, secrets and os.environ.
"""

import os
from typing import Any, Optional

from kcore.common.platform import KcoreError

__all__ = [
    "PRINTABLE_CHARSET",
    "SpecialArgError",
    "random_printable",
    "resolve_special_arg",
    "special_arg_resolver",
]


class SpecialArgError(KcoreError, ValueError):
    """A special argument (``$VAR``, ``file:...``, ``*key``) could not be resolved."""


def _identifier_prefix(text: str) -> int:
    n = 0
    for ch in text:
        if ch == "_" or ch.isalnum():
            n += 1
        else:
            break
    return n


def _resolve_env(
    value: str, argname: str, env_value_default: Optional[str], environ: Any = None
) -> str:
    if value.startswith("${"):
        end = value.find("}")
        if end < 0:
            raise SpecialArgError("%s: unterminated ${...} in its value" % argname)
        name, suffix = value[2:end], value[end + 1 :]
    else:
        n = _identifier_prefix(value[1:])
        name, suffix = value[1 : 1 + n], value[1 + n :]
    if not name:
        raise SpecialArgError("%s: '$' must be followed by an environment variable name" % argname)
    env = (os.environ if environ is None else environ).get(name)
    if env is None:
        if env_value_default is None:
            raise SpecialArgError(
                "%s: environment variable %r is not set (and no default given)" % (argname, name)
            )
        env = env_value_default
    return env + suffix


def special_arg_resolver(
    input_val: Any,
    argname: str = "argument",
    env_value_default: Optional[str] = None,
    environ: Any = None,
) -> Any:
    """Resolve the special forms of a command-line value:

    * ``-``: prompt for it without echo (getpass);
    * ``$NAME`` / ``${NAME}suffix``: from the environment (``env_value_default``
      if unset, else an error);
    * ``file:path`` / ``f:path``: the file's contents;
    * ``*key[/user[/password]]`` (a keymaster lookup): not supported yet, so
      it raises :class:`SpecialArgError` rather than pass the text on as a value;
    * lists and dicts: element-wise (argname and default passed down);
    * falsy or anything else: returned unchanged.

    Errors are :class:`SpecialArgError` (a ValueError) naming the argument,
    never its value. ``environ`` (a mapping) replaces ``os.environ`` for ``$NAME``.
    """
    if not input_val:
        return input_val
    if isinstance(input_val, list):
        return [
            special_arg_resolver(v, "%s[%d]" % (argname, i), env_value_default, environ)
            for i, v in enumerate(input_val)
        ]
    if isinstance(input_val, dict):
        return {
            k: special_arg_resolver(v, "%s[%r]" % (argname, k), env_value_default, environ)
            for k, v in input_val.items()
        }
    if not isinstance(input_val, str):
        return input_val
    if input_val == "-":
        import getpass

        return getpass.getpass("Enter value for %s: " % argname)
    if input_val.startswith("$"):
        return _resolve_env(input_val, argname, env_value_default, environ)
    if input_val.startswith(("file:", "f:")):
        path = input_val.split(":", 1)[1]
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            return f.read()
    if input_val.startswith("*"):
        raise SpecialArgError(
            "%s: '*key' values (keymaster lookups) are not supported yet; "
            "give the value itself, '$VAR', 'file:path' or '-'" % argname
        )
    return input_val


def resolve_special_arg(args: Any, argname: str, required: bool = True) -> Any:
    """Resolve ``args.<argname>`` with :func:`special_arg_resolver`, store the
    result back on ``args`` and return it; error if required and empty."""
    value = special_arg_resolver(getattr(args, argname), argname)
    setattr(args, argname, value)
    if required and not value:
        raise SpecialArgError("%s: a value is required" % argname)
    return value


PRINTABLE_CHARSET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#%+,-./:=@_"


def random_printable(len: int = 16, charset: str = PRINTABLE_CHARSET) -> str:
    """A random string from ``charset``, drawn with :mod:`secrets` (fit for
    passwords and cookies, where :mod:`random`'s output could be predicted)."""
    import secrets

    if isinstance(len, bool) or not isinstance(len, int) or len < 0:
        raise ValueError("len must be an int >= 0, not %r" % (len,))
    if not charset:
        raise ValueError("charset must not be empty")
    return "".join([secrets.choice(charset) for _ in range(len)])
