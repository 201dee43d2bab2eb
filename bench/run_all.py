"""Every benchmark in one run: ``bench/run [--full]`` writes bench/results.json and bench/results.md.

Each benchmark measures perfcore against its plain baseline in the same run (see each script's
docstring). By default the build and scale benchmarks run at most of issue 11's own sizes (a month of
10 and of 27 councils, the whole history of 10, every indicator of 400 councils) and the others small:
about 20 minutes on two quiet cores. ``--full`` uses each script's own defaults and adds the 27 councils'
whole history and the 400 councils' month's site (about an hour more). The Markdown table lists issue 11's goals
with what this run measured, and says which goals this run does not measure. Timings on a machine
shared with other work are noisy: the load average at the start and end is recorded beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

SMALL = {
    "ingest": ["--records", "1000000", "--repeat", "2"],
    "manual": ["--rows", "5000", "--repeat", "2"],
    "analytics": ["--councils", "27", "--repeat", "2"],
    # 10 and 27 councils' months and the 10 councils' whole history: the goals' sizes (--full adds 27's history)
    "build": ["--councils", "10", "27", "--months", "24", "--repeat", "2", "--history", "10"],
    # 400 councils' indicators (the members ingested, the others copied in SQL); --full adds their month's site
    "scale": ["--councils", "400", "--months", "24", "--repeat", "3", "--no-site"],
}
FULL = {"build": ["--history", "10", "27"], "scale": ["--councils", "400"]}  # beyond each script's defaults


def run(name: str, arguments: list[str]) -> tuple[str, float]:
    print(f"[bench/run] {name}: python bench/bench_{name}.py {' '.join(arguments)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(BENCH / f"bench_{name}.py"), *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench_{name}.py failed ({done.returncode})")
    return done.stdout, time.perf_counter() - started


def table_rows(text: str) -> list[dict[str, str]]:
    """The plain text table bench_analytics and bench_manual print: a header line, then rows."""
    lines = [line.split() for line in text.strip().splitlines() if line.strip()]
    header = [h.strip() for h in re.findall(r"[a-z]+(?: s)?", text.strip().splitlines()[0])]
    return [dict(zip(header, row)) for row in lines[1:]]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def goals(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(goal, measured here, target, met?) for each of issue 11's goals."""
    build = results.get("build", {})
    sites = {site["councils"]: site for site in build.get("sites", [])}
    out = _page_goals(build.get("per_notebook", {}), sites)
    for councils, site in sorted(sites.items()):
        cold = site["cold_build"]["seconds"]
        target = "≤ 45 s" if councils == 27 else "(27 councils: ≤ 45 s)"
        met = ("yes" if cold <= 45 else "no") if councils == 27 else "not the goal's size"
        out.append((f"a month's site, {councils} councils, cold", f"{cold:.0f} s", target, met))
        warm = site["warm_build"]["seconds"]
        out.append((f"no-change rebuild, {councils} councils, one month", f"{warm:.1f} s", "", ""))
    if 27 not in sites:
        out.append(("a month's site, 27 councils, cold", "not measured (bench/run --full)", "≤ 45 s", "?"))
    out += _scale_goals(results.get("scale", {}))
    histories = {h["councils"]: h for h in build.get("histories", [])}
    for councils, history in sorted(histories.items()):
        cold, warm = history["cold_build"], history["warm_build"]
        out.append(
            (
                f"the whole {history['months']}-month history, {councils} councils, cold",
                f"{cold['seconds'] / 60:.1f} min ({cold['pages']} pages, {cold['failed']} failed)",
                "≤ 4 min" if councils == 10 else "",
                ("yes" if cold["seconds"] <= 240 else "no") if councils == 10 else "",
            )
        )
        out.append(
            (
                f"no-change rebuild, {councils} councils × {history['months']} months",
                f"{warm['seconds']:.1f} s ({warm['frozen']} of {warm['pages']} pages unchanged)",
                "≤ 2 s" if councils == 27 else "(27 councils: ≤ 2 s)",
                ("yes" if warm["seconds"] <= 2 else "no") if councils == 27 else "not the goal's size",
            )
        )
    if 10 not in histories:
        out.append(("the whole 24-month history, 10 councils, cold", "not measured (bench/run --full)", "≤ 4 min", "?"))
    if 27 not in histories:
        out.append(("no-change rebuild, 27 councils × 24 months", "not measured (bench/run --full)", "≤ 2 s", "?"))
    out += _ingest_goals(results.get("ingest"))
    return out


def _page_goals(page: dict[str, Any], sites: dict[int, Any]) -> list[tuple[str, str, str, str]]:
    """A page amortised over a month's build (the build's seconds per page, both workers busy) against one
    plain papermill + nbconvert run of the same notebook, measured in the same run."""
    if not page:
        return []
    bare = page["bare_s"]
    out = []
    for councils, site in sorted(sites.items()):
        per_page = site["cold_build"]["seconds_per_page"]
        ratio = per_page / bare
        out.append(
            (
                f"one council page amortised over a month's build ({councils} councils) against plain papermill "
                "+ nbconvert",
                f"{ratio:.2f}× ({per_page:.2f} s a page against {bare:.1f} s)",
                "≤ 0.2×",
                "yes" if ratio <= 0.2 else "no",
            )
        )
    out.append(
        (
            "one council page alone in a fresh process (kernel start and imports included) against the same",
            f"{page['ratio_perfcore_to_bare']:.2f}× ({page['perfcore_page_s']:.1f} s against {bare:.1f} s)",
            "",
            "",
        )
    )
    return out


def _scale_goals(scale: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    if not scale:
        return [
            ("a month's site, 400 councils; peak memory", "not measured (bench/run --full)", "≤ 10 min; ≤ 4 GiB", "?"),
            ("all indicators, 400 councils × 24 months, from the warehouse", "not measured", "≤ 5 s", "?"),
        ]
    out = []
    month = scale.get("month")
    if month:
        cold = month["cold_build"]
        minutes, memory = cold["seconds"] / 60, month["peak_memory_gib"]
        out.append(
            (
                f"a month's site, {scale['indicators']['councils']} councils, cold; peak memory",
                f"{minutes:.1f} min ({cold['pages']} pages, {cold['failed']} failed); {memory:.1f} GiB",
                "≤ 10 min; ≤ 4 GiB",
                "yes" if minutes <= 10 and memory <= 4 else "no",
            )
        )
    figures = scale["indicators"]
    out.append(
        (
            f"all indicators, {figures['councils']} councils × 24 months, from the warehouse",
            f"{figures['indicators_s']:.1f} s ({figures['rows']:,} rows; reading the components alone "
            f"{figures['components_only_s']:.1f} s)",
            "≤ 5 s" if figures["councils"] >= 400 else "(400 councils: ≤ 5 s)",
            ("yes" if figures["indicators_s"] <= 5 else "no") if figures["councils"] >= 400 else "not the goal's size",
        )
    )
    return out


def _ingest_goals(ingest: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    if not ingest:
        return []
    ratio = ingest["ratio_perfcore_to_bare"]
    return [
        (
            "ingestion against bare lxml iterparse",
            f"{ratio:.2f}× ({ingest['perfcore_records_per_s']:,} against {ingest['bare_records_per_s']:,} "
            f"records/s; {ingest['records']:,} records)",
            "≥ 0.5×",
            "yes" if ratio >= 0.5 else "no",
        )
    ]


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark results ({results['when']}, commit {results['commit']})",
        "",
        f"{results['machine']}; load average {results['load_average_at_start']} at the start and "
        f"{results['load_average_at_end']} at the end (above ~{results['cpus'] // 2 or 1} means other work shared "
        f"the machine: the times are then noisy, the ratios less so). Sizes: {results['sizes']}; "
        f"the whole run took {results['seconds']:.0f} s."
        + "".join(
            f" The {name} results are kept from the run at commit {commit}."
            for name, commit in sorted(results.get("kept_from_an_earlier_run", {}).items())
        ),
        "",
        "| goal (issue 11) | measured | target | met |",
        "|---|---|---|---|",
    ]
    lines += [f"| {g} | {m} | {t} | {ok} |" for g, m, t, ok in goals(results)]
    if results.get("analytics"):
        lines += ["", "Analytics (a consortium build's analytics against one pandas groupby pass):", ""]
        lines += ["| councils | rows | pandas s | perfcore s | ratio |", "|---:|---:|---:|---:|---:|"]
        lines += [
            f"| {r['councils']} | {r['rows']} | {r['pandas s']} | {r['perfcore s']} | {r['ratio']} |"
            for r in results["analytics"]
        ]
    if results.get("manual"):
        lines += ["", "Manual returns (ingest with part ≤ whole against a plain csv parse):", ""]
        lines += ["| shape | rows | csv s | perfcore s | ratio |", "|---|---:|---:|---:|---:|"]
        lines += [
            f"| {r['shape']} | {r['rows']} | {r['csv s']} | {r['perfcore s']} | {r['ratio']} |"
            for r in results["manual"]
        ]
    return "\n".join(lines) + "\n"


def _earlier_results(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="each benchmark's own default sizes (much longer)")
    parser.add_argument("--only", nargs="+", choices=sorted(SMALL), default=sorted(SMALL), help="just these")
    parser.add_argument("--out", type=Path, default=BENCH, help="folder for results.json and results.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    results: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit.stdout.strip() or "unknown",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "cpus": os.cpu_count() or 1,
        "load_average_at_start": round(os.getloadavg()[0], 1),
        "sizes": "full (each script's defaults)"
        if args.full
        else "build and scale at the goals' sizes, the others small (bench/run_all.py SMALL)",
        "arguments": {},
    }
    earlier = _earlier_results(args.out / "results.json")
    for name in sorted(set(SMALL) - set(args.only)):  # --only: the other benchmarks' last results are kept
        if name in earlier:
            results[name] = earlier[name]
            results["arguments"][name] = earlier.get("arguments", {}).get(name, [])
            results.setdefault("kept_from_an_earlier_run", {})[name] = earlier.get("commit", "unknown")
    for name in args.only:
        arguments = FULL.get(name, []) if args.full else SMALL[name]
        results["arguments"][name] = arguments
        text, seconds = run(name, arguments)
        results[name] = json.loads(text) if name in ("ingest", "build", "scale") else table_rows(text)
        results.setdefault("seconds_per_benchmark", {})[name] = round(seconds, 1)
    results["load_average_at_end"] = round(os.getloadavg()[0], 1)
    results["seconds"] = time.perf_counter() - started
    results["goals"] = [dict(zip(("goal", "measured", "target", "met"), g)) for g in goals(results)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
