"""``perfcore dwp-return``: write DWP's electronic return for a council and month (thin: parse, call, print)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfcore.terminal import safe


def dwp_return_arguments(sub: argparse.ArgumentParser) -> None:
    which = sub.add_mutually_exclusive_group(required=True)
    which.add_argument("--council", metavar="CODE", help="the member's GSS code")
    which.add_argument("--all", action="store_true", help="every member of the consortium")
    sub.add_argument("--period", required=True, metavar="YYYY-MM", help="the month")
    sub.add_argument("--out", required=True, metavar="DIR", help="the folder to write the returns into")
    sub.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="write a month with missing data anyway, marked incomplete in the XML and the manifest",
    )
    sub.add_argument(
        "--site",
        metavar="DIR",
        help="the built site holding the council PDFs (default: where `perfcore build` writes it)",
    )


def cmd_dwp_return(args) -> int:
    """Each return's files, or REFUSED with the list of what is missing; exit 1 when any was refused."""
    from perfcore import settings, warehouse
    from perfcore.build.runner import default_site
    from perfcore.config.parameters import load_consortium, load_framework, parameters_dir
    from perfcore.dwp import returns
    from perfcore.render import load_site_config
    from perfcore.warehouse import indicators

    indicators.check_period(args.period)
    folder = parameters_dir(args.parameters)
    consortium, framework = load_consortium(folder), load_framework(folder / "framework.yaml")
    councils = list(consortium.members) if args.all else [consortium.council(args.council)]
    if args.site:
        site = Path(args.site)
    else:
        root = settings.project_root()
        site = default_site(load_site_config(root), root, settings.resolve_path("reports", args.reports))
    with warehouse.connect(args.warehouse, read_only=True) as con:
        outcomes = returns.write_returns(
            con,
            consortium,
            framework,
            councils,
            args.period,
            site=site,
            out=Path(args.out),
            allow_incomplete=args.allow_incomplete,
        )
    for outcome in outcomes:
        name = f"{outcome.council.name} ({outcome.council.code}) {outcome.period}"
        if outcome.refused:
            print(safe(f"REFUSED   {name}: not written, because:"))
        else:
            state = "COMPLETE " if outcome.complete else "INCOMPLETE"
            print(safe(f"{state} {name}: " + ", ".join(str(p) for p in outcome.paths)))
        for gap in outcome.missing:
            print(safe(f"  - {gap}"))
    refused = [o for o in outcomes if o.refused]
    if refused:
        print(f"{len(refused)} return(s) refused; complete the month (or see --allow-incomplete)", file=sys.stderr)
        return 1
    return 0


COMMANDS = (
    (
        "dwp-return",
        cmd_dwp_return,
        "Write DWP's electronic return (XML, the council's PDF, a manifest) for a council and month.",
        dwp_return_arguments,
    ),
)
