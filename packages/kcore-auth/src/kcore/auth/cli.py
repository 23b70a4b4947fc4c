"""k_auth: generate registrations and tokens (client), register and verify (server).

Client:  k_auth -g -u USER -p PASSWORD            → prints the registration string
         k_auth -c COMMAND -u USER -p PASSWORD    → prints a token for COMMAND
Server:  k_auth -r 'SharedSecret(...)' -P -       → adds the registration to the DB
         k_auth -v TOKEN -c COMMAND -H CLIENT_IP -P '$DB_PASSWORD'

-P/-p accept '-' (prompt; for -p: empty password) and '$VAR' (read the environment).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from typing import List, Optional

from kcore.auth import api
from kcore.auth.errors import AuthNError
from kcore.auth.identity import get_machine_identity
from kcore.auth.tokens import DEFAULT_MAX_TIME_DELTA, SharedSecret, generate_token


def parse_args(argv: List[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="k_auth", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("-u", "--username", default="", help="subject user name")
    ap.add_argument(
        "-p",
        "--password",
        default=None,
        help="user password ('-' = empty password, '$VAR' = from environment)",
    )
    ap.add_argument(
        "-g",
        "--generate",
        action="store_true",
        help="print this machine's registration string (needs -p)",
    )
    ap.add_argument(
        "-r",
        "--register",
        default=None,
        metavar="SECRET",
        help="server: add a registration string to the DB (needs -P)",
    )
    ap.add_argument(
        "-O",
        "--override-hostname",
        default=None,
        help="server: expected client host/IP for -r ('*' = any address)",
    )
    ap.add_argument("-f", "--db-filename", default=api.DEFAULT_DB_FILENAME, help="registration DB")
    ap.add_argument(
        "-P",
        "--db-passwd",
        default=None,
        help="DB password ('-' = prompt, '$VAR' = from environment)",
    )
    ap.add_argument("-c", "--command", default=None, help="command the token is for")
    ap.add_argument(
        "-v",
        "--verify",
        default=None,
        metavar="TOKEN",
        help="server: verify TOKEN for -c COMMAND (needs -P)",
    )
    ap.add_argument(
        "-H",
        "--hostname",
        default=None,
        help="-v: client address to check; -g/-c: client hostname override",
    )
    ap.add_argument(
        "-m",
        "--max-time-delta",
        type=int,
        default=DEFAULT_MAX_TIME_DELTA,
        help="-v: accepted clock difference, seconds (0 = no time check)",
    )
    ap.add_argument("-d", "--debug", action="store_true", help="print diagnostics (never secrets)")
    ap.add_argument(
        "-e",
        "--extract-machine-secret",
        action="store_true",
        help="print this machine's identity (derived, not the raw id) and exit",
    )
    ap.add_argument(
        "-s",
        "--use-machine-secret",
        default=None,
        metavar="SECRET",
        help="use SECRET as the machine identity for this run (sets $PUID)",
    )
    ap.add_argument(
        "-l",
        "--legacy",
        action="store_true",
        help="also accept the original v2 (SHA-1) tokens, registrations and DB",
    )
    return ap.parse_args(argv)


class _Exit(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code


def _resolve(value: Optional[str], what: str, dash_means_empty: bool) -> Optional[str]:
    if value is None:
        return None
    if value == "-":
        return "" if dash_means_empty else getpass.getpass("%s: " % what)
    if value.startswith("$") and len(value) > 1:
        name = value[1:].strip("{}")
        got = os.environ.get(name)
        if got is None:
            raise _Exit(-1, "%s: environment variable $%s is not set" % (what, name))
        return got
    return value


def _need_user_password(args: argparse.Namespace) -> str:
    pw = _resolve(args.password, "password", dash_means_empty=True)
    if pw is None:
        raise _Exit(-1, "this needs -p PASSWORD (or -p - for an empty password)")
    return pw


def _need_db_passwd(args: argparse.Namespace) -> str:
    pw = _resolve(args.db_passwd, "DB password", dash_means_empty=False)
    if not pw:
        raise _Exit(-1, "this needs -P DB_PASSWORD ('-' prompts, '$VAR' reads the environment)")
    return pw


def _run(args: argparse.Namespace) -> int:
    if args.debug:
        api.DEBUG = True
    if args.use_machine_secret is not None:
        api.set_machine_secret(args.use_machine_secret)
    if args.extract_machine_secret:
        identity, source = get_machine_identity()
        print(identity)
        api.debug_msg("machine identity from %s" % source)
        return 0
    if args.generate:
        pw = _need_user_password(args)
        ss = SharedSecret.generate(args.username, pw, args.hostname)
        print(str(ss))
        return 0
    if args.register:
        db_pw = _need_db_passwd(args)
        ok = api.register(
            args.register, db_pw, args.db_filename, args.override_hostname, legacy=args.legacy
        )
        if not ok:
            print(
                "Registration refused: only %s registrations are accepted%s."
                % ("v3", "" if args.legacy else " (v2 needs --legacy)")
            )
            return -1
        n = len(api.RegistrationDB(args.db_filename, db_pw, legacy=args.legacy).registrations())
        print("Done.  Registration file now has %d entries." % n)
        return 0
    if args.verify:
        db_pw = _need_db_passwd(args)
        if args.command is None:
            raise _Exit(-1, "-v needs -c COMMAND (the command the token was made for)")
        if not args.hostname:
            print(
                "WARNING- no client address provided via --hostname flag, so client host "
                "checking is disabled."
            )
        r = api.verify_token(
            args.verify,
            args.command,
            args.hostname,
            db_pw,
            max_time_delta=args.max_time_delta,
            db_filename=args.db_filename,
            legacy=args.legacy,
        )
        print("verified? %s" % r.ok)
        print("status: %s" % r.status)
        print("generated on host: %s" % r.registered_hostname)
        print("generated by user: %s" % r.username)
        if r.sent_time is not None:
            print(
                "time sent: %s (%s)"
                % (
                    r.sent_time,
                    time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(r.sent_time))),
                )
            )
        else:
            print("time sent: None")
        return 0 if r.ok else -1
    if args.command is not None:
        # No -p means the empty password here, as scripts written for the original
        # k_auth expect (and -p - works too).
        pw = _resolve(args.password, "password", dash_means_empty=True) or ""
        print(generate_token(args.command, args.username, pw, args.hostname))
        return 0
    print("Nothing to do: give one of -g, -c, -r, -v, -e (see --help).")
    return -2


def main(argv: Optional[List[str]] = None) -> int:
    """Run k_auth; returns 0, -1 (failure) or -2 (nothing selected)."""
    args = parse_args(sys.argv[1:] if not argv else list(argv))
    try:
        return _run(args)
    except _Exit as e:
        sys.stderr.write("k_auth: %s\n" % e)
        return e.code
    except (AuthNError, ValueError, OSError) as e:
        sys.stderr.write("k_auth: error: %s\n" % e)
        return -1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
