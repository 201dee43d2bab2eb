-- The warehouse schema version 1: perfcore before issue 8 (git show 660f9db:src/perfcore/warehouse.py, SCHEMA),
-- kept verbatim so tests/test_migrations.py can open a warehouse made by it.
create sequence if not exists submission_ids start 1;

create table if not exists submissions (
    id              integer primary key,
    file_name       varchar not null,   -- the name it was submitted under
    stored_path     varchar not null,   -- byte-for-byte copy, relative to the warehouse folder
    sha256          varchar not null,
    size_bytes      bigint not null,
    kind            varchar not null,   -- extract | manual | unknown
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

create table if not exists claims (
    submission_id integer not null, line integer, ref varchar not null,
    received date not null, info_complete date, decided date not null,
    outcome varchar not null, tenure varchar
);

create table if not exists changes (
    submission_id integer not null, line integer, ref varchar not null, claim varchar not null,
    type varchar not null, notified date not null, effective date, actioned date not null
);

create table if not exists work_items (
    submission_id integer not null, line integer, ref varchar not null,
    kind varchar not null, received date not null
);

create table if not exists overpayments (
    submission_id integer not null, line integer, ref varchar not null, claim varchar not null,
    identified date not null, amount decimal(12, 2) not null, cause varchar not null
);

create table if not exists recoveries (
    submission_id integer not null, line integer, overpayment varchar not null,
    date date not null, amount decimal(12, 2) not null
);

create table if not exists write_offs (
    submission_id integer not null, line integer, overpayment varchar not null,
    date date not null, amount decimal(12, 2) not null
);

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
