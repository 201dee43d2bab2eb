"""What the warehouse holds, at its current schema version.

The record tables (one per HBPE section) are derived from ``intake.hbpe``,
so a column exists in the warehouse exactly when the standard describes the
attribute; the rest is written out here. ``SCHEMA_VERSION`` changes with any
change to ``ddl()``, and ``migrations`` then says how an older warehouse
catches up (``tests/test_migrations.py`` pins each version's tables, so an
unversioned change fails there).

Versions:
  1  the first warehouse (perfcore before issue 8)
  2  ``schema_history``: when the warehouse was created and each migration applied
  3  ``messages`` (every e-mail received, with its outcome) and ``commentary_rows`` (the commentary return)
"""

from __future__ import annotations

from perfcore.intake import hbpe

SCHEMA_VERSION = 3

_SUBMISSIONS = """
create sequence if not exists submission_ids start 1;

create table if not exists submissions (
    id              integer primary key,
    file_name       varchar not null,   -- the name it was submitted under
    stored_path     varchar not null,   -- byte-for-byte copy, relative to the warehouse folder
    sha256          varchar not null,
    size_bytes      bigint not null,
    kind            varchar not null,   -- extract | manual | commentary | unknown
    channel         varchar not null,   -- cli | email | folder
    sender          varchar,
    received_at     timestamp not null,
    authority       varchar,
    period          varchar,
    sequence        integer,
    outcome         varchar not null,   -- accepted | duplicate | rejected | conflict
    reason          varchar,
    records_loaded  integer not null default 0,
    records_rejected integer not null default 0
);

-- The accepted extract that counts for each council and month.
create table if not exists current_extracts (
    authority       varchar not null,
    period          varchar not null,
    submission_id   integer not null,
    sequence        integer not null,
    primary key (authority, period)
);

-- Which submission replaced which: the history of resubmissions.
create table if not exists replacements (
    authority       varchar not null,
    period          varchar not null,
    replaced_id     integer not null,
    replaced_by_id  integer not null,
    replaced_at     timestamp not null
);

create table if not exists rejections (
    submission_id   integer not null,
    file_name       varchar not null,
    level           varchar not null,   -- file | record
    line            integer,
    ref             varchar,
    field           varchar,
    reason          varchar not null
);

create table if not exists extract_headers (
    submission_id   integer primary key,
    authority       varchar not null,
    authority_name  varchar,
    period          varchar not null,
    supplier        varchar,
    system          varchar,
    system_version  varchar,
    created         varchar,
    sequence        integer not null,
    caseload        bigint not null,
    expenditure     decimal(15, 2) not null
);
"""

_MANUAL_AND_META = """
create table if not exists manual_values (
    submission_id integer not null, line integer not null,
    authority varchar not null, period varchar not null,
    measure varchar not null, value double not null
);

create or replace view current_manual as
select authority, period, measure, value, submission_id
from (
    select *, row_number() over (
        partition by authority, period, measure order by submission_id desc, line desc) as newest
    from manual_values
) where newest = 1;

create table if not exists meta (key varchar primary key, value varchar);
"""

# Version 2: how the warehouse came to its schema (also the migrations' own record).
SCHEMA_HISTORY = """
create table if not exists schema_history (
    version     integer primary key,
    applied_at  timestamp not null,
    how         varchar not null    -- created | migrated from N
);
"""


# Version 3: the e-mail intake's messages, and the commentary return.
MAIL_AND_COMMENTARY = """
create sequence if not exists message_ids start 1;
create table if not exists messages (
    id          integer primary key,
    received_at timestamp not null,
    sha256      varchar not null,
    stored_path varchar not null,   -- the whole message, relative to the warehouse folder
    message_id  varchar,            -- when it had a well-formed Message-ID
    sender      varchar,            -- when it had one plain From address
    subject     varchar,            -- for listings only (control characters removed)
    size_bytes  bigint,
    outcome     varchar not null,   -- processed | duplicate | refused | quarantined | released | dropped
    reason      varchar,
    files       varchar             -- JSON: each attachment's ingest outcome, and each refused attachment
);

create table if not exists commentary_rows (
    submission_id integer not null, line integer not null,
    authority varchar not null, period varchar not null,
    indicator varchar not null,     -- '' for a comment on the month as a whole
    commentary varchar not null, action varchar, owner varchar, due date
);

-- A later row for the same council, month and indicator replaces the earlier (both kept).
create or replace view current_commentary as
select authority, period, indicator, commentary, action, owner, due, submission_id, line
from (
    select *, row_number() over (
        partition by authority, period, indicator order by submission_id desc, line desc) as newest
    from commentary_rows
) where newest = 1;
"""


def record_table(section: hbpe.Section) -> str:
    """One section's table: the submission and line, then a column per attribute (NOT NULL if required)."""
    columns = ", ".join(f"{a.column} {a.sql_type}{' not null' if a.required else ''}" for a in section.attributes)
    return f"create table if not exists {section.table} (submission_id integer not null, line integer, {columns});\n"


def ddl() -> str:
    """Every table and view of the current version (each ``if not exists``)."""
    records = "\n".join(record_table(section) for section in hbpe.SECTIONS)
    return _SUBMISSIONS + "\n" + records + _MANUAL_AND_META + SCHEMA_HISTORY + MAIL_AND_COMMENTARY
