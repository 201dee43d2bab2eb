"""The access-control commands: ``users``, ``serve`` and ``access-log``.

Thin, like ``perfcore.cli``: parse, call the access package, print. Kept
beside the package they drive; ``cli.COMMANDS`` lists them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from perfcore import settings
from perfcore.access import audit, nginx, serve
from perfcore.access import users as users_file
from perfcore.exceptions import AccessError
from perfcore.terminal import safe, table_lines


def _consortium(args):
    from perfcore.config.parameters import load_consortium, parameters_dir

    return load_consortium(parameters_dir(args.parameters))


def users_path(args) -> Path:
    chosen = settings.resolve("users", getattr(args, "users", None))
    if chosen:
        path = Path(chosen)
        return path if path.is_absolute() else settings.project_root() / path
    return users_file.default_path(settings.resolve_path("warehouse", args.warehouse))


def _codes(consortium) -> tuple[str, ...]:
    return tuple(c.code for c in consortium.members)


def _read_password(name: str) -> str:
    """From a prompt (asked twice) on a terminal; otherwise the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != first:
            raise AccessError("the two passwords differ; nothing was changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")


# -- users ----------------------------------------------------------------------------------------


def users_arguments(sub: argparse.ArgumentParser) -> None:
    actions = sub.add_subparsers(title="actions", metavar="ACTION")
    common = settings.options_parser()
    add = actions.add_parser(
        "add", parents=[common], help="add a user (password from a prompt, or stdin when not a terminal)"
    )
    add.add_argument("name")
    add.add_argument(
        "--role",
        required=True,
        choices=sorted(users_file.ROLES),
        help="; ".join(f"{k}: {v}" for k, v in users_file.ROLES.items()),
    )
    add.add_argument(
        "--council",
        action="append",
        default=[],
        metavar="CODE",
        help="a council's GSS code (council role; repeat for a shared service)",
    )
    add.add_argument("--email", help="the address single sign-on signs this user in with")
    add.add_argument(
        "--sso-only", action="store_true", help="no password: the user signs in only through single sign-on"
    )
    add.set_defaults(handler=cmd_users_add)
    remove = actions.add_parser("remove", parents=[common], help="remove a user")
    remove.add_argument("name")
    remove.set_defaults(handler=cmd_users_remove)
    listing = actions.add_parser("list", parents=[common], help="list users, roles and councils (never passwords)")
    listing.add_argument("--format", choices=("json", "table"), default="table")
    listing.set_defaults(handler=cmd_users_list)
    passwd = actions.add_parser("passwd", parents=[common], help="set a user's password")
    passwd.add_argument("name")
    passwd.set_defaults(handler=cmd_users_passwd)


def cmd_users_add(args) -> int:
    consortium = _consortium(args)
    path = users_path(args)
    current = users_file.load(path, _codes(consortium))
    user = users_file.User(args.name, args.role, tuple(args.council), email=args.email)
    users_file.validate_user(
        users_file.User(user.name, user.role, user.councils, user.email, "$2b$12$" + "x" * 53)
        if not args.sso_only
        else user,
        _codes(consortium),
    )
    updated = current.add(user)  # refuses a duplicate before a password is asked for
    if not args.sso_only:
        password = _read_password(args.name)
        users_file.check_password(args.name, password)
        updated = updated.with_password(args.name, users_file.hash_password(password))
    users_file.save(updated, path, _codes(consortium))
    print(safe(f"added {args.name} ({args.role}{': ' + ', '.join(args.council) if args.council else ''}) to {path}"))
    print("run 'perfcore serve' again (or reload the deployed nginx) for the change to take effect")
    return 0


def cmd_users_remove(args) -> int:
    consortium = _consortium(args)
    path = users_path(args)
    users_file.save(users_file.load(path, _codes(consortium)).remove(args.name), path, _codes(consortium))
    print(safe(f"removed {args.name} from {path}"))
    return 0


def cmd_users_passwd(args) -> int:
    consortium = _consortium(args)
    path = users_path(args)
    current = users_file.load(path, _codes(consortium))
    if current.get(args.name) is None:
        raise AccessError(f"no user {args.name!r}; 'perfcore users list' shows who there is")
    password = _read_password(args.name)
    users_file.check_password(args.name, password)
    users_file.save(current.with_password(args.name, users_file.hash_password(password)), path, _codes(consortium))
    print(safe(f"password changed for {args.name}"))
    return 0


def cmd_users_list(args) -> int:
    consortium = _consortium(args)
    names = {c.code: c.name for c in consortium.members}
    rows = [
        {
            "name": u.name,
            "role": u.role,
            "councils": ", ".join(f"{c} {names[c]}" for c in u.councils),
            "email": u.email or "",
            "sign_in": "password" if u.password_hash else "single sign-on",
        }
        for u in users_file.load(users_path(args), _codes(consortium)).users
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        _print_rows(rows, ["name", "role", "councils", "email", "sign_in"])
    return 0


# -- serve ----------------------------------------------------------------------------------------


def serve_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sub.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    sub.add_argument(
        "--tls-cert", type=Path, metavar="FILE", help="the site's certificate (PEM): serve HTTPS with HSTS"
    )
    sub.add_argument("--tls-key", type=Path, metavar="FILE", help="the certificate's private key (PEM)")
    sub.add_argument(
        "--sso", metavar="HOST:PORT", help="single sign-on: oauth2-proxy's address; users are matched by e-mail"
    )
    sub.add_argument("--server-name", default="_", help="the site's host name, for the deployable configuration")
    sub.add_argument("--print-config", action="store_true", help="write the deployable configuration and exit")
    sub.add_argument("--out", type=Path, metavar="DIR", help="where --print-config writes (default: print nginx.conf)")
    sub.add_argument("--site", type=Path, metavar="DIR", help="the site to serve (default: <reports>/site)")


def _server_options(args) -> nginx.ServerOptions:
    if (args.tls_cert is None) != (args.tls_key is None):
        raise AccessError("--tls-cert and --tls-key go together")
    if not 0 < args.port < 65536:
        raise AccessError(f"--port {args.port}: use 1-65535")
    reports = settings.resolve_path("reports", args.reports)
    site = args.site or reports / "site"
    if not (site / "index.html").exists():
        raise AccessError(f"no built site at {site}; run 'perfcore build' first (or pass --site)")
    options = serve.local_options(
        site,
        reports / "server",
        host=args.host,
        port=args.port,
        sso_upstream=args.sso,
        tls_certificate=args.tls_cert,
        tls_key=args.tls_key,
    )
    if args.server_name != "_":
        from dataclasses import replace

        options = replace(options, server_name=args.server_name)
    return options


def cmd_serve(args) -> int:
    consortium = _consortium(args)
    users = users_file.load(users_path(args), _codes(consortium))
    if not users.users:
        raise AccessError(f"no users in {users_path(args)}; add one with 'perfcore users add NAME --role ROLE'")
    options = _server_options(args)
    if args.print_config:
        return _print_config(args, options, users, consortium)
    serve.prepare(options)
    serve.configure(options, users, consortium, options.runtime)
    scheme = "https" if options.tls else "http"
    print(
        f"perfcore: serving {options.site} at {scheme}://{options.host}:{options.port}/ for {len(users.users)} user(s)",
        flush=True,
    )
    print(f"perfcore: access log {options.logs / 'access.log'}; 'perfcore access-log' summarises it", flush=True)
    return serve.serve_forever(
        options.runtime / "nginx.conf", options.runtime, lambda text: print(f"perfcore: {text}", flush=True)
    )


def _print_config(args, options, users, consortium) -> int:
    deployed = serve.deployable(options)
    if args.out is None:
        from perfcore.access import policy

        grants = policy.grants(users, consortium)
        print(nginx.render(deployed, grants, {u.email.lower(): u.name for u in users.users if u.email}), end="")
        return 0
    from dataclasses import replace

    deployed = replace(
        deployed, password_file=(args.out / "perfcore.htpasswd").resolve(), runtime=Path("/run/perfcore")
    )
    conf = serve.configure(deployed, users, consortium, args.out)
    print(f"wrote {conf} and {args.out / 'perfcore.htpasswd'}; see the README's Deploying section")
    return 0


# -- access-log -----------------------------------------------------------------------------------


def access_log_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--log", type=Path, metavar="FILE", help="nginx's access log (default: <reports>/server/logs/access.log)"
    )
    sub.add_argument("--user", help="only this user's requests")
    sub.add_argument("--denied", action="store_true", help="only refused requests (401, 403), one line each")
    sub.add_argument("--format", choices=("json", "table"), default="table")


def cmd_access_log(args) -> int:
    log = args.log or settings.resolve_path("reports", args.reports) / "server" / "logs" / "access.log"
    entries = audit.select(audit.read(log), user=args.user, denied=args.denied)
    if args.denied:
        rows = [
            {"time": e.time, "user": e.user, "status": e.status, "path": e.path, "client": e.client} for e in entries
        ]
        columns = ["time", "user", "status", "path", "client"]
    else:
        rows = audit.summarise(entries)
        columns = ["user", "requests", "allowed", "denied", "not_found", "first", "last"]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        _print_rows(rows, columns)
    return 0


def _print_rows(rows: list[dict], columns: list[str]) -> None:
    print("\n".join(table_lines(rows, columns)))


COMMANDS = (
    ("users", None, "Add, remove and list the site's users and set their passwords.", users_arguments),
    ("serve", cmd_serve, "Serve the built site through nginx with per-user access control.", serve_arguments),
    (
        "access-log",
        cmd_access_log,
        "Summarise the web server's access decisions (by user; --denied lists refusals).",
        access_log_arguments,
    ),
)
