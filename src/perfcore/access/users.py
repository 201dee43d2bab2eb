"""The users file: who may open the site, in which role, for which councils.

It lives beside the warehouse (``users.yaml``), not in ``parameters/``: it
holds password hashes and people's e-mail addresses, which are data to back
up with the warehouse and never to commit. Passwords are never stored in
clear: each is a bcrypt hash (``$2b$``), which nginx checks through the
system's ``crypt`` (libxcrypt on Debian).

Every change is validated as a whole and written atomically (temporary file,
then rename), so a bad command changes nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from perfcore.exceptions import AccessError

ROLES = {
    "council": "a council's benefits officers and managers: their council's folder and the members' benchmark pages",
    "consortium": "the consortium's analysts and design authority: everything",
    "dwp": "the Department for Work and Pensions: the DWP folder only",
}
# Names go into nginx's configuration and password file: keep them to a safe alphabet.
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_HASH = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
MIN_PASSWORD = 12
_COMMON = frozenset(
    {
        "password1234",
        "123456789012",
        "qwertyuiopas",
        "letmein12345",
        "welcome12345",
        "housingbenefit",
        "administrator",
        "changeme1234",
        "passwordpassword",
        "111111111111",
        "000000000000",
    }
)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    councils: tuple[str, ...] = ()  # GSS codes, for the council role
    email: str | None = None  # the signed-in address single sign-on maps to this user
    password_hash: str | None = None  # None: single sign-on only


def validate_user(user: User, member_codes: Iterable[str]) -> None:
    """Raise AccessError naming what is wrong with one user entry."""
    members = set(member_codes)
    if not _NAME.match(user.name):
        raise AccessError(
            f"user name {user.name!r}: use 1-63 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if user.role not in ROLES:
        raise AccessError(f"user {user.name}: unknown role {user.role!r}; use one of {', '.join(ROLES)}")
    if user.role == "council" and not user.councils:
        raise AccessError(f"user {user.name}: the council role needs at least one --council CODE")
    if user.role != "council" and user.councils:
        raise AccessError(
            f"user {user.name}: only the council role takes --council "
            f"(role {user.role} sees {'everything' if user.role == 'consortium' else 'the DWP folder'})"
        )
    unknown = [code for code in user.councils if code not in members]
    if unknown:
        raise AccessError(
            f"user {user.name}: {', '.join(unknown)} is not a consortium member; see parameters/consortium.yaml"
        )
    if len(set(user.councils)) != len(user.councils):
        raise AccessError(f"user {user.name}: a council is listed twice")
    if user.email is not None and not _EMAIL.match(user.email):
        raise AccessError(f"user {user.name}: {user.email!r} is not an e-mail address")
    if user.password_hash is not None and not _HASH.match(user.password_hash):
        raise AccessError(
            f"user {user.name}: the password is not a bcrypt hash; set it with 'perfcore users passwd {user.name}'"
        )
    if user.password_hash is None and user.email is None:
        raise AccessError(f"user {user.name}: needs a password or an --email for single sign-on")


def check_password(name: str, password: str) -> None:
    """Refuse an empty or weak password, with what a strong one needs."""
    if not password:
        raise AccessError("the password is empty; nothing was changed")
    if len(password) < MIN_PASSWORD:
        raise AccessError(
            f"the password is too short ({len(password)} characters); "
            f"use at least {MIN_PASSWORD}, for example three random words"
        )
    lowered = password.lower()
    if lowered in _COMMON or name.lower() in lowered or len(set(password)) < 5:
        raise AccessError(
            "the password is too easy to guess; use at least three random words or a password manager's suggestion"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise AccessError("the password contains control characters; use printable characters only")


# bcrypt's cost: nginx checks the hash on every request of a signed-in reader (basic
# authentication has no session), so it is paid per page, chart and PDF: 10 costs
# ~60 ms of one core per request (12 would be ~230 ms). Larger deployments use single sign-on.
BCRYPT_COST = 10


def hash_password(password: str, cost: int = BCRYPT_COST) -> str:
    import bcrypt

    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=cost)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    import bcrypt

    return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))


@dataclass(frozen=True)
class Users:
    """The users file's content: every user, in the order they were added."""

    users: tuple[User, ...] = ()

    def get(self, name: str) -> User | None:
        return next((u for u in self.users if u.name == name), None)

    def validate(self, member_codes: Iterable[str]) -> None:
        codes = tuple(member_codes)
        names: set[str] = set()
        emails: set[str] = set()
        for user in self.users:
            validate_user(user, codes)
            if user.name in names:
                raise AccessError(
                    f"user {user.name} already exists; choose another name or 'perfcore users passwd {user.name}'"
                )
            if user.email and user.email.lower() in emails:
                raise AccessError(f"user {user.name}: {user.email} already belongs to another user")
            names.add(user.name)
            if user.email:
                emails.add(user.email.lower())

    def add(self, user: User) -> Users:
        if self.get(user.name):
            raise AccessError(
                f"user {user.name} already exists; choose another name or 'perfcore users passwd {user.name}'"
            )
        return Users((*self.users, user))

    def remove(self, name: str) -> Users:
        if not self.get(name):
            raise AccessError(f"no user {name!r}; 'perfcore users list' shows who there is")
        return Users(tuple(u for u in self.users if u.name != name))

    def with_password(self, name: str, password_hash: str) -> Users:
        if not self.get(name):
            raise AccessError(f"no user {name!r}; 'perfcore users list' shows who there is")
        return Users(tuple(replace(u, password_hash=password_hash) if u.name == name else u for u in self.users))


def default_path(warehouse: Path) -> Path:
    """``users.yaml`` beside the warehouse, with the submitted files."""
    return warehouse.parent / "users.yaml"


def load(path: Path, member_codes: Iterable[str]) -> Users:
    """Read and validate the users file; a missing file is no users yet."""
    import yaml

    if not path.exists():
        return Users()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise AccessError(f"{path}: not a readable users file ({error}); restore it from the backup") from error
    entries = raw.get("users") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise AccessError(f"{path}: expected 'users:' with a list of users")
    users = Users(tuple(_user_from(entry, path) for entry in entries))
    try:
        users.validate(member_codes)
    except AccessError as error:
        raise AccessError(f"{path}: {error}") from error
    return users


def _user_from(entry: object, path: Path) -> User:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise AccessError(f"{path}: every user needs a 'name'")
    allowed = {"name", "role", "councils", "email", "password"}
    extra = set(entry) - allowed
    if extra:
        raise AccessError(
            f"{path}: user {entry['name']}: unknown key {sorted(extra)[0]!r}; allowed: {', '.join(sorted(allowed))}"
        )
    councils = entry.get("councils") or ()
    if not isinstance(councils, (list, tuple)) or not all(isinstance(c, str) for c in councils):
        raise AccessError(f"{path}: user {entry['name']}: 'councils' is a list of GSS codes")
    return User(
        name=entry["name"],
        role=str(entry.get("role")),
        councils=tuple(councils),
        email=entry.get("email"),
        password_hash=entry.get("password"),
    )


def save(users: Users, path: Path, member_codes: Iterable[str]) -> None:
    """Validate, then replace the file atomically, readable by its owner only."""
    import yaml

    users.validate(member_codes)
    entries = []
    for user in users.users:
        entry: dict[str, object] = {"name": user.name, "role": user.role}
        if user.councils:
            entry["councils"] = list(user.councils)
        if user.email:
            entry["email"] = user.email
        if user.password_hash:
            entry["password"] = user.password_hash
        entries.append(entry)
    text = (
        "# perfcore users: written by 'perfcore users'. Passwords are bcrypt hashes, never clear text.\n"
        + yaml.safe_dump({"users": entries}, sort_keys=False, allow_unicode=False)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".users-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
