"""The ``perfcore`` command: a thin layer over the package.

Each subcommand parses its arguments, calls one library function and prints.
Only ``PerfcoreError`` is caught: it becomes one line on stderr (what, where,
what to do) and exit status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from perfcore import settings
from perfcore.access.commands import COMMANDS as ACCESS_COMMANDS
from perfcore.dwp.commands import COMMANDS as DWP_COMMANDS
from perfcore.exceptions import PerfcoreError
from perfcore.intake.validate import COMMANDS as VALIDATE_COMMANDS
from perfcore.mail.commands import COMMANDS as MAIL_COMMANDS
from perfcore.terminal import guarded_output, safe, table_lines


def main(argv: Sequence[str] | None = None) -> int:
    # file names and CSV fields come from outside: nothing printed may drive the terminal
    with guarded_output():
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except PerfcoreError as error:
        print(f"perfcore: error: {safe(str(error))}", file=sys.stderr)  # one line, whatever it quotes
        return 2
    except KeyboardInterrupt:
        print("perfcore: interrupted", file=sys.stderr)
        return 130


class _Parser(argparse.ArgumentParser):
    """argparse, with the arguments it quotes in an error kept to one visible line."""

    def error(self, message: str):
        super().error(safe(message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="perfcore",
        description="Performance management and reporting for councils' Housing Benefit services.",
    )
    common = settings.options_parser()
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, handler, help_text, add_arguments in COMMANDS:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
        add_arguments(sub)
        sub.set_defaults(handler=handler)
    return parser


# -- shared helpers ----------------------------------------------------------------------------


def _consortium(args):
    from perfcore.config.parameters import load_consortium, parameters_dir

    return load_consortium(parameters_dir(args.parameters))


def _framework(args):
    from perfcore.config.parameters import load_framework, parameters_dir

    path = getattr(args, "framework", None) or parameters_dir(args.parameters) / "framework.yaml"
    return load_framework(path)


def _parameters(args) -> Path:
    from perfcore.config.parameters import parameters_dir

    return parameters_dir(args.parameters)


def _initiatives_file(args) -> Path:
    return _parameters(args) / "initiatives.yaml"


def _connect(args, read_only: bool = False):
    from perfcore import warehouse

    return warehouse.connect(args.warehouse, read_only=read_only)


def _print_table(rows: list[dict], columns: list[str]) -> None:
    print("\n".join(table_lines(rows, columns)))


# -- commands ------------------------------------------------------------------------------------


def _ingest_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "paths", nargs="+", metavar="PATH", help="HBPE extracts (.xml), manual returns (.csv), or folders of them"
    )


def cmd_ingest(args) -> int:
    from perfcore.intake.ingest import ingest_paths

    consortium = _consortium(args)
    failed = 0
    with _connect(args) as con:  # closed on return: a read-only open in the same process would be refused
        ids = frozenset(_framework(args).ids)  # a commentary return names indicators of this framework
        for result in ingest_paths(args.paths, con, consortium, today=settings.today(args.today), indicator_ids=ids):
            print(safe(result.line()), flush=True)  # one line per file, whatever its name holds
            failed += not result.ok
    if failed:
        print(f"{failed} file(s) rejected; `perfcore rejections` lists every reason", file=sys.stderr)
    return 1 if failed else 0


def _indicators_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--council",
        required=True,
        metavar="CODE|consortium",
        help="a member's GSS code, or 'consortium' for the pooled figure",
    )
    sub.add_argument(
        "--period",
        metavar="YYYY-MM",
        help="the month (default: the latest complete month; see complete_after_days in consortium.yaml)",
    )
    sub.add_argument("--format", choices=("json", "table"), default="table")
    sub.add_argument(
        "--framework",
        metavar="FILE",
        help="a framework file to compute with instead of parameters/framework.yaml (to see the effect of a change)",
    )


def cmd_indicators(args) -> int:
    from perfcore.config.parameters import CONSORTIUM
    from perfcore.exceptions import IndicatorError
    from perfcore.warehouse import indicators

    consortium, framework = _consortium(args), _framework(args)
    area = args.council if args.council == CONSORTIUM else consortium.council(args.council).code
    con = _connect(args, read_only=True)
    table = indicators.compute(con, framework, consortium.codes)
    counts, today = indicators.extracts_in(con, consortium), settings.today(args.today)
    con.close()
    period = args.period or indicators.default_period(table, framework, counts, consortium, today)
    if period is None:
        raise IndicatorError("the warehouse holds no data yet; ingest some files first")
    values = indicators.values_for(table, framework, area, period)
    if args.format == "json":
        print(json.dumps(values))
        return 0
    note = indicators.month_status(period, counts, consortium, today).note
    print(f"{consortium.area_name(area)}, {period}{f' ({note})' if note else ''} (framework {framework.version})")
    rows = [
        {
            "indicator": i.id,
            "value": i.format(values[i.id]),
            "status": (i.rag(values[i.id]) or "").upper(),
            "name": i.name,
        }
        for i in framework.indicators
    ]
    _print_table(rows, ["indicator", "value", "status", "name"])
    return 0


def _rejections_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--council",
        metavar="CODE",
        help="only this member's files (a council page names the command for its rejections)",
    )
    sub.add_argument("--period", metavar="YYYY-MM", help="only files for this month")
    sub.add_argument("--format", choices=("json", "table"), default="table")


def _rejection_of(row: dict, council: str | None, period: str | None) -> bool:
    # a manual return's rows name their council and month in the reference: "S12000042 2026-10 calls_offered"
    named = (row["ref"] or "").split(" ") if row["authority"] is None else []
    authority = row["authority"] or (named[0] if len(named) > 2 else None)
    month = row["period"] or (named[1] if len(named) > 2 else None)
    return council in (None, authority) and period in (None, month)


def cmd_rejections(args) -> int:
    from perfcore.intake.ingest import rejections

    council = _consortium(args).council(args.council).code if args.council else None
    with _connect(args, read_only=True) as con:
        rows = [row for row in rejections(con) if _rejection_of(row, council, args.period)]
    if args.format == "json":
        keys = ("file", "level", "line", "ref", "reason")
        print(json.dumps([{k: row[k] for k in keys} for row in rows], indent=1))
    else:
        _print_table(rows, ["file", "level", "line", "ref", "reason"])
    return 0


def _submissions_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--format", choices=("json", "table"), default="table")


def cmd_submissions(args) -> int:
    from perfcore.intake.ingest import submissions

    with _connect(args, read_only=True) as con:
        rows = submissions(con)
    if args.format == "json":
        print(json.dumps(rows, indent=1, default=str))
    else:
        _print_table(
            rows,
            ["id", "file_name", "authority", "period", "sequence", "outcome", "records_loaded", "records_rejected"],
        )
    return 0


def _explain_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--council",
        required=True,
        metavar="CODE|consortium",
        help="a member's GSS code, or 'consortium' for the pooled figure (aggregates only)",
    )
    sub.add_argument(
        "--period",
        metavar="YYYY-MM",
        help="the month (default: the latest complete month; see complete_after_days in consortium.yaml)",
    )
    sub.add_argument("--indicator", required=True, metavar="ID", help="an indicator id from parameters/framework.yaml")
    sub.add_argument(
        "--refs",
        type=int,
        default=20,
        metavar="N",
        help="list the refs of the first N records counted, per component (default 20; 0: counts only)",
    )
    sub.add_argument("--format", choices=("json", "text"), default="text")


def cmd_explain(args) -> int:
    """Where one figure comes from: definition, numerator and denominator, components, the files behind it."""
    from perfcore.config.parameters import CONSORTIUM
    from perfcore.exceptions import IndicatorError
    from perfcore.reporting import explain
    from perfcore.warehouse import indicators

    consortium, framework = _consortium(args), _framework(args)
    pooled = args.council == CONSORTIUM
    council = None if pooled else consortium.council(args.council)
    framework.indicator(args.indicator)  # an unknown id fails before the warehouse is read
    with _connect(args, read_only=True) as con:
        evidence = explain.read_evidence(con, consortium, framework)
        counts = indicators.extracts_in(con, consortium)
        today = settings.today(args.today)
        period = args.period or indicators.default_period(evidence.table, framework, counts, consortium, today)
        if period is None:
            raise IndicatorError("the warehouse holds no data yet; ingest some files first")
        if pooled:
            return _print_pooled(args, explain.explain_pooled(evidence, period, args.indicator), consortium)
        found = explain.explain(evidence, council.code, period, args.indicator)
        records = explain.counted_records(con, found, max(args.refs, 0))
    if args.format == "json":
        data = found.to_json() | {"records": [r.to_json() for r in records]}
        print(json.dumps(data, indent=1, ensure_ascii=False))
        return 0
    note = indicators.month_status(period, counts, consortium, today).note
    lines = explain.text_lines(found, consortium.short_name) + explain.records_lines(records)
    if note:
        lines[0] += f" ({note})"
    for line in lines:
        print(safe(line))
    return 0


def _print_pooled(args, pooled, consortium) -> int:
    from perfcore.reporting import explain

    if args.format == "json":
        print(json.dumps(explain.pooled_json(pooled), indent=1, ensure_ascii=False))
        return 0
    for line in explain.pooled_lines(pooled, consortium.short_name):
        print(safe(line))
    return 0


def _demo_data_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "out",
        nargs="?",
        default=None,
        metavar="OUT",
        help="folder to write into (default: data/demo beside the warehouse)",
    )
    sub.add_argument("--seed", type=int, default=2026)
    sub.add_argument(
        "--councils",
        type=int,
        default=None,
        metavar="N",
        help="number of councils (more than the members adds real English and Welsh ones, then invented ones)",
    )
    sub.add_argument("--months", type=int, default=24, metavar="M")


def _demo_out(args) -> Path:
    from perfcore import warehouse

    return Path(args.out) if getattr(args, "out", None) else warehouse.warehouse_path(args.warehouse).parent / "demo"


def cmd_demo_data(args) -> int:
    from perfcore.demo import write_demo_data

    out = _demo_out(args)
    summary = write_demo_data(
        out,
        consortium=_consortium(args),
        seed=args.seed,
        councils=args.councils,
        months=args.months,
        today=settings.today(args.today),
        initiatives_file=_initiatives_file(args),
    )
    if summary.extra_councils:
        from perfcore.demo import write_consortium_yaml

        folder = write_consortium_yaml(summary, out / "parameters", copy_from=_parameters(args))
        where = folder.parent if folder.is_file() else folder
        print(f"{len(summary.extra_councils)} councils beyond the members: use --parameters {where} to ingest them")
    print(
        f"wrote demo data for {len(summary.councils)} councils, {summary.periods[0]} to {summary.periods[-1]}, to {out}"
    )
    return 0


def _demo_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--seed", type=int, default=2026)


def cmd_demo(args) -> int:
    """The main job on the embedded default: demo data, ingest, the latest month's indicators, and the site
    with every month's pages (``build --all-periods``), so "Other months of this report" works at once."""
    from perfcore.demo import write_demo_data
    from perfcore.intake.ingest import ingest_paths

    consortium, con = _consortium(args), _connect(args)
    out = _demo_out(args)
    today = settings.today(args.today)
    summary = write_demo_data(
        out, consortium=consortium, seed=args.seed, today=today, initiatives_file=_initiatives_file(args)
    )
    print(f"demo data: {len(summary.councils)} councils, {summary.periods[0]} to {summary.periods[-1]} in {out}")
    outcomes: dict[str, int] = {}
    for result in ingest_paths([out], con, consortium, today=today):
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    print("ingested: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())))
    con.close()
    args.council, args.period, args.format, args.framework = "consortium", None, "table", None
    cmd_indicators(args)
    # The demo users first, so the onboarding page counts them.
    logins = _demo_users(args, consortium)
    print(
        "building the site and PDFs for every month with data "
        "(the first run executes every report; later runs only what changed)"
    )
    args.out, args.workers, args.report, args.all_periods = None, None, [], True
    status = cmd_build(args)
    _print_demo_serving(args, logins)
    return status


def _demo_users(args, consortium) -> list:
    from perfcore.access import demo as demo_access
    from perfcore.access.commands import users_path

    return demo_access.ensure_demo_users(users_path(args), consortium)


def _print_demo_serving(args, logins: list) -> None:
    """How to see the demo site as each role sees it: behind nginx, with a demo user per role."""
    import shutil

    from perfcore.access.commands import users_path

    path = users_path(args)
    print("\nto see the site as each reader sees it, serve it behind nginx with per-role access:")
    print("  perfcore serve --port 8080      then open http://127.0.0.1:8080/ and sign in as")
    for login in logins:
        who = f"{login.role} ({login.council})" if login.council else login.role
        print(f"    {login.name:22} {login.password}   {who}")
    print(f"  (demo users in {path}; their passwords are new on every 'perfcore demo')")
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        print("  perfcore serve needs nginx: apt-get install nginx")


def _alerts_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--period",
        metavar="YYYY-MM",
        help="the month (default: the latest complete month; see complete_after_days in consortium.yaml)",
    )
    sub.add_argument("--format", choices=("json", "table"), default="table")


def cmd_alerts(args) -> int:
    """Alerts as at a month, worst first: council, indicator, rule, evidence, months."""
    from perfcore.reporting import report

    data = report.load(args.period, warehouse=args.warehouse, parameters=args.parameters, today=args.today)
    items = report.alerts(data)
    if args.format == "json":
        print(json.dumps([a.to_dict() | {"council": data.area_name(a.area)} for a in items], indent=1))
        return 0
    note = f" ({data.status.note})" if data.provisional else ""
    print(f"{len(items)} alert(s) as at {data.period}{note}, worst first")
    rows = [
        {
            "severity": a.severity,
            "council": data.area_name(a.area),
            "indicator": a.indicator,
            "rule": a.rule,
            "since": a.started,
            "months": " ".join(a.months),
            "evidence": a.evidence,
        }
        for a in items
    ]
    _print_table(rows, ["severity", "council", "indicator", "rule", "since", "months", "evidence"])
    return 0


def _build_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--period",
        metavar="YYYY-MM",
        help="the month to build (default: the latest complete month; see complete_after_days in consortium.yaml)",
    )
    sub.add_argument(
        "--out", metavar="DIR", help="where to write the site (default: _quarto.yml's output-dir, reports/site)"
    )
    sub.add_argument("--workers", type=int, metavar="N", help="notebooks run at once (default: the machine's cores)")
    sub.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="NAME",
        help="build only this report (repeatable): " + ", ".join(sorted({r.name for r in _reports()})),
    )
    sub.add_argument(
        "--all-periods",
        action="store_true",
        help="build every month with data up to --period (default: up to the latest complete month), in one run",
    )
    sub.add_argument(
        "--shard",
        metavar="K/N",
        help="build only the K-th of N deterministic parts of the pages (N runners build one site; see --merge)",
    )
    sub.add_argument(
        "--merge",
        nargs="+",
        metavar="DIR",
        help="build nothing: copy these shards' site folders into the site (--out) and rebuild its indexes",
    )


def _reports():
    from perfcore.build.runner import REPORTS

    return REPORTS


def cmd_build(args) -> int:
    """Execute every report notebook for every council and the consortium, and render the site."""
    from perfcore.access.commands import users_path
    from perfcore.build.runner import Shard, build

    if getattr(args, "merge", None):
        return _merge_shards(args)

    def progress(outcome) -> None:
        note = f" ({outcome.seconds:.1f}s)" if outcome.status == "executed" else ""
        if outcome.error:
            note += f": {outcome.error}"
        done = f" [{outcome.progress.text()}]" if outcome.progress else ""
        print(f"{outcome.status.upper():8}{done} {outcome.job.label}{note}", flush=True)

    summary = build(
        args.period,
        site=Path(args.out) if args.out else None,
        warehouse=args.warehouse,
        parameters=args.parameters,
        reports_dir=Path(args.reports) if args.reports else None,
        workers=args.workers,
        progress=progress,
        only=tuple(args.report),
        today=args.today,
        users=users_path(args),
        all_periods=getattr(args, "all_periods", False),
        shard=Shard.parse(args.shard) if getattr(args, "shard", None) else None,
    )
    print(summary.line())
    if summary.failed:
        print(
            f"{len(summary.failed)} page(s) failed: " + ", ".join(o.job.label for o in summary.failed), file=sys.stderr
        )
        return 1
    return 0


def _merge_shards(args) -> int:
    """``perfcore build --merge DIR...``: the shards' sites made into one site, indexes rebuilt."""
    from perfcore import settings as perfcore_settings
    from perfcore.build.runner import default_site, merge_shards
    from perfcore.render import load_site_config

    if args.shard or args.all_periods or args.report or args.period:
        raise PerfcoreError("build --merge takes only the shards' folders and --out: it builds no page")
    root = perfcore_settings.project_root()
    config = load_site_config(root)
    reports_dir = perfcore_settings.resolve_path("reports", Path(args.reports) if args.reports else None)
    site = Path(args.out) if args.out else default_site(config, root, reports_dir)
    copied = merge_shards([Path(folder) for folder in args.merge], site, config)
    print(f"merged {len(args.merge)} shard(s) ({len(copied)} files) into {site}; open {site / 'index.html'}")
    return 0


def _migrate_arguments(sub: argparse.ArgumentParser) -> None:
    """No arguments: the global --warehouse names the warehouse."""


def cmd_migrate(args) -> int:
    """Open the warehouse for writing, which brings an older one to this perfcore's schema (one transaction)."""
    from perfcore import warehouse

    with _connect(args) as con:
        how, when = con.execute("select how, applied_at from schema_history order by version desc limit 1").fetchone()
    path = warehouse.warehouse_path(args.warehouse)
    print(f"{path}: schema version {warehouse.SCHEMA_VERSION} ({how} {when:%Y-%m-%d %H:%M} UTC)")
    return 0


def _onboarding_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--months", type=int, default=6, metavar="N", help="feed status for the last N months (default 6)")
    sub.add_argument("--format", choices=("json", "table"), default="table")


def cmd_onboarding(args) -> int:
    """Each council's onboarding steps (date or what is outstanding) and its feeds, month by month."""
    from perfcore import periods
    from perfcore.access.commands import users_path
    from perfcore.reporting import onboarding

    consortium = _consortium(args)
    last = periods.last_complete(settings.today(args.today))
    months = [periods.shift(last, -n) for n in range(max(args.months, 1) - 1, -1, -1)]
    with _connect(args, read_only=True) as con:
        found = onboarding.status(con, consortium, months, users_path(args))
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "code": s.code,
                        "name": s.name,
                        "steps": {
                            st.key: {"done": st.done, "on": st.on.isoformat() if st.on else None, "note": st.note}
                            for st in s.steps
                        },
                        "feeds": s.feeds,
                    }
                    for s in found
                ],
                indent=1,
            )
        )
        return 0
    for council in found:
        done = len(council.steps) - len(council.outstanding)
        print(safe(f"{council.name} ({council.code}): {done} of {len(council.steps)} onboarding steps done"))
        for step in council.steps:
            when = f"{step.on:%d %b %Y}" if step.on else "done" if step.done else "outstanding"
            print(safe(f"  {step.label:44} {when:12} {step.note}"))
        for month in months:
            feeds = council.feeds[month]
            print(safe(f"  {month}: " + ", ".join(f"{feed} {state}" for feed, state in feeds.items())))
    return 0


COMMANDS = (
    ("ingest", cmd_ingest, "Ingest HBPE extracts and manual returns into the warehouse.", _ingest_arguments),
    (
        "indicators",
        cmd_indicators,
        "Print a council's or the consortium's indicators for a month.",
        _indicators_arguments,
    ),
    ("rejections", cmd_rejections, "List every rejected file and record with its reason.", _rejections_arguments),
    ("submissions", cmd_submissions, "List every submitted file with its outcome.", _submissions_arguments),
    (
        "explain",
        cmd_explain,
        "Show where one of a council's figures comes from: numerator, denominator, components, files.",
        _explain_arguments,
    ),
    ("alerts", cmd_alerts, "List early-warning alerts, worst first.", _alerts_arguments),
    ("build", cmd_build, "Execute the report notebooks and build the site and PDFs.", _build_arguments),
    (
        "demo-data",
        cmd_demo_data,
        "Write realistic, reproducible demo extracts, manual and commentary returns.",
        _demo_data_arguments,
    ),
    (
        "demo",
        cmd_demo,
        "The main job on demo data: generate, ingest, print the latest month, build the site.",
        _demo_arguments,
    ),
    (
        "migrate",
        cmd_migrate,
        "Bring a warehouse made by an older perfcore to this version's schema.",
        _migrate_arguments,
    ),
    (
        "onboarding",
        cmd_onboarding,
        "Each council's onboarding steps and whether its feeds arrive on time.",
        _onboarding_arguments,
    ),
    *VALIDATE_COMMANDS,
    *DWP_COMMANDS,
    *ACCESS_COMMANDS,
    *MAIL_COMMANDS,
)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
