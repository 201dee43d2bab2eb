"""``perfcore build --shard K/N`` and ``--merge``: N runners build one site, and the union is that site.

The unit tests check the partition (deterministic, disjoint, complete, balanced); the slow test builds a
tiny project (two councils, two months) whole, and again as two shards into separate folders (separate
reports folders too, as on separate CI runners), merges them, and compares every file byte for byte.
"""

from __future__ import annotations

import filecmp
import json
import re
from pathlib import Path

import pytest

from test_build_periods import perfcore, two_council_project

REPORTS = ("--report", "report", "--report", "indicators", "--report", "guide")


def jobs(labels: list[str]):
    from types import SimpleNamespace

    return [SimpleNamespace(label=label) for label in labels]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_are_disjoint_complete_and_balanced(count: int):
    from perfcore.build.runner import Shard

    labels = [f"councils/c{n}/2026-{m:02d}/report.html" for n in range(7) for m in range(1, 4)] + ["dwp/x/guide.html"]
    planned = jobs(labels)
    parts = [Shard(k, count).select(planned) for k in range(1, count + 1)]
    seen = [job.label for part in parts for job in part]
    assert sorted(seen) == sorted(labels)  # every page in exactly one shard
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    # the same pages in another order: the same partition (it depends on the pages, not the plan's order)
    again = [Shard(k, count).select(jobs(list(reversed(labels)))) for k in range(1, count + 1)]
    assert [{j.label for j in p} for p in again] == [{j.label for j in p} for p in parts]
    # each shard keeps the plan's order
    assert all(
        [j.label for j in part] == [label for label in labels if label in {j.label for j in part}] for part in parts
    )


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2", "1/2/3"])
def test_a_bad_shard_is_refused_in_one_line(text: str):
    from perfcore.build.runner import Shard
    from perfcore.exceptions import PerfcoreError

    with pytest.raises(PerfcoreError, match="K/N"):
        Shard.parse(text)


def site_files(site: Path) -> dict[str, Path]:
    return {p.relative_to(site).as_posix(): p for p in sorted(site.rglob("*")) if p.is_file()}


CREATED = re.compile(rb'(created="|"created": ")[^"]*"')


def content(path: Path) -> bytes:
    """The file's bytes, but for the one thing that is not deterministic: a DWP return's creation time (the
    clock, by design: when the return was made), in its XML and its manifest (with the XML's SHA-256 there)."""
    data = path.read_bytes()
    if "/returns/" not in path.as_posix():
        return data
    data = CREATED.sub(rb'\1..."', data)
    if path.name.endswith(".manifest.json"):
        manifest = json.loads(data)
        for entry in manifest["files"]:
            if entry["name"].endswith(".xml"):
                entry["sha256"] = "..."
        data = json.dumps(manifest).encode()
    return data


@pytest.mark.slow  # three real builds in subprocesses
def test_the_union_of_two_shards_is_the_whole_build(tmp_path: Path):
    months = ("2026-09", "2026-10")
    project = two_council_project(tmp_path / "project", months)
    whole = perfcore(project, "build", "--all-periods", *REPORTS, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    built = {}
    for k in (1, 2):
        done = perfcore(
            project,
            "build",
            "--all-periods",
            *REPORTS,
            "--shard",
            f"{k}/2",
            "--out",
            str(tmp_path / f"shard{k}"),
            "--reports",
            str(tmp_path / f"reports{k}"),
        )
        assert done.returncode == 0, done.stderr
        assert f"(shard {k}/2)" in done.stdout.splitlines()[-1]
        built[k] = {line.split()[-2] for line in done.stdout.splitlines() if line.startswith("EXECUTED")}
    assert built[1] and built[2] and not built[1] & built[2]  # each shard built its own pages only
    assert len(built[1]) + len(built[2]) == 2 * 5  # two months of: two council reports, indicators, two guides
    assert not (tmp_path / "shard2" / "dwp" / "2026-10" / "sop-return-2026-10.csv").exists()  # shard 1's job

    merged = perfcore(
        project,
        "build",
        "--merge",
        str(tmp_path / "shard1"),
        str(tmp_path / "shard2"),
        "--out",
        str(tmp_path / "union"),
    )
    assert merged.returncode == 0, merged.stderr
    expected, union = site_files(tmp_path / "whole"), site_files(tmp_path / "union")
    assert sorted(union) == sorted(expected)
    different = [name for name in expected if content(expected[name]) != content(union[name])]
    assert different == []
    assert filecmp.cmp(  # PDFs too: the same bytes from either build
        expected["councils/dundee-city/2026-10/dundee-city-2026-10-report.pdf"],
        union["councils/dundee-city/2026-10/dundee-city-2026-10-report.pdf"],
        shallow=False,
    )


@pytest.mark.slow
def test_merge_refuses_a_folder_without_pages(tmp_path: Path):
    project = two_council_project(tmp_path / "project", ("2026-10",))
    (tmp_path / "empty").mkdir()
    done = perfcore(project, "build", "--merge", str(tmp_path / "empty"), "--out", str(tmp_path / "union"))
    assert done.returncode == 2 and "no built pages here" in done.stderr
    assert not (tmp_path / "union").exists()
