"""``perfcore serve``: the built site through a real nginx with the generated configuration.

``configure`` writes ``nginx.conf`` and the password file for the users file
as it is now; ``serve`` runs nginx in the foreground on that configuration
and stops it cleanly on Ctrl-C or SIGTERM. ``--print-config`` writes the same
files for a council's IT department to deploy (their paths, their
certificate).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from perfcore.access import nginx, policy
from perfcore.access import users as users_file
from perfcore.config.parameters import Consortium
from perfcore.exceptions import AccessError

WORKER_USER = ("nobody", "nogroup")  # nginx refuses to run its workers as root


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if not found:
        raise AccessError("nginx is not installed; install Debian's package: apt-get install nginx")
    return found


def configure(options: nginx.ServerOptions, users: users_file.Users, consortium: Consortium, out: Path) -> Path:
    """Write nginx.conf and perfcore.htpasswd into ``out``; return the configuration's path."""
    grants = policy.grants(users, consortium)
    emails = {u.email.lower(): u.name for u in users.users if u.email}
    passwords = nginx.password_file([(u.name, u.password_hash) for u in users.users])
    try:
        config = nginx.render(options, grants, emails)
    except ValueError as error:
        raise AccessError(f"cannot write the nginx configuration: {error}") from error
    conf, secrets = nginx.write(out, config, passwords)
    if options.worker_user and os.geteuid() == 0:
        os.chown(secrets, 0, grp.getgrnam(options.worker_user.split()[-1]).gr_gid)
    return conf


def local_options(
    site: Path,
    runtime: Path,
    *,
    host: str,
    port: int,
    sso_upstream: str | None = None,
    tls_certificate: Path | None = None,
    tls_key: Path | None = None,
) -> nginx.ServerOptions:
    """Options for a server on this machine, with its runtime files under ``runtime``."""
    worker = None
    if os.geteuid() == 0:
        worker = " ".join(WORKER_USER)
    return nginx.ServerOptions(
        site=site.resolve(),
        runtime=runtime.resolve(),
        password_file=(runtime / "perfcore.htpasswd").resolve(),
        host=host,
        port=port,
        sso_upstream=sso_upstream,
        worker_user=worker,
        tls_certificate=tls_certificate.resolve() if tls_certificate else None,
        tls_key=tls_key.resolve() if tls_key else None,
    )


def _check_readable_by_worker(site: Path) -> None:
    """nginx's workers run as nobody: say so plainly instead of serving 403s for every page."""
    for folder in (site.resolve(), *site.resolve().parents):
        mode = folder.stat().st_mode
        if not mode & 0o001:
            raise AccessError(
                f"{folder} cannot be entered by nginx's worker user ({WORKER_USER[0]}); "
                f"run 'chmod o+x {folder}' or use another --reports folder"
            )


def prepare(options: nginx.ServerOptions) -> None:
    for folder in (options.runtime, options.logs, options.runtime / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    if options.worker_user and os.geteuid() == 0:
        # Serving here: the workers read the site and the password file. (Writing a configuration to
        # deploy elsewhere, --print-config, checks nothing on this machine.)
        for folder in (options.site, options.runtime):
            _check_readable_by_worker(folder)
        uid = pwd.getpwnam(options.worker_user.split()[0]).pw_uid
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            path = options.runtime / "tmp" / kind
            path.mkdir(exist_ok=True)
            os.chown(path, uid, -1)


def check(conf: Path, runtime: Path) -> None:
    """``nginx -t``: refuse to start on a configuration nginx itself rejects."""
    result = subprocess.run(
        [nginx_binary(), "-t", "-q", *_startup_options(conf, runtime)], capture_output=True, text=True
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no detail"])[-1]
        raise AccessError(f"nginx rejected the generated configuration {conf}: {detail}")


def start(conf: Path, runtime: Path) -> subprocess.Popen:
    """nginx in the foreground (``daemon off``), in its own process group."""
    return subprocess.Popen(
        [nginx_binary(), *_startup_options(conf, runtime), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def _startup_options(conf: Path, runtime: Path) -> list[str]:
    # -e: the error log from the first line on; without it nginx first tries its compiled-in
    # /var/log/nginx/error.log, which a non-root user cannot open (a spurious alert).
    return ["-p", str(runtime), "-e", str(runtime / "logs" / "error.log"), "-c", str(conf)]


def stop(process: subprocess.Popen, timeout: float = 5) -> int:
    """Graceful stop (QUIT lets requests in flight finish), then TERM, then KILL."""
    for sig, wait in ((signal.SIGQUIT, timeout), (signal.SIGTERM, timeout), (signal.SIGKILL, None)):
        if process.poll() is not None:
            break
        process.send_signal(sig)
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    return process.wait()


def serve_forever(conf: Path, runtime: Path, announce: Callable[[str], None]) -> int:
    """Run nginx until it exits, Ctrl-C or SIGTERM; return 0 on a clean stop."""
    check(conf, runtime)
    process = start(conf, runtime)
    stopping = {"asked": False}

    def ask_to_stop(signum, frame) -> None:  # noqa: ARG001 (signal handler signature)
        stopping["asked"] = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, ask_to_stop)
    announce("press Ctrl-C to stop")
    try:
        code = process.wait()
    except KeyboardInterrupt:
        stopping["asked"] = True
        code = stop(process)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if process.poll() is None:
            stop(process)
    if stopping["asked"]:
        announce("stopped")
        return 0
    raise AccessError(f"nginx stopped unexpectedly (exit {code}); see {runtime / 'logs' / 'error.log'}")


def deployable(options: nginx.ServerOptions) -> nginx.ServerOptions:
    """The options as a council's server would run them: Debian's worker user, logs in /var/log/nginx."""
    return replace(options, worker_user="www-data", log_dir=Path("/var/log/nginx/perfcore"))
