"""Run the benchmarks and write BENCHMARKS.md (``make bench``).

Each module ``bench/bench_<name>.py`` exposes ``run(workdir: Path) -> str``, a Markdown
section; this script gives each a fresh work dir under ``bench/work/`` (git-ignored),
runs it, and writes the sections under a header naming the machine, the command and the
date. Speed and memory goals are checked here, against baselines measured in the same
run, never as timed assertions in tests.

    .venv/bin/python bench/run.py                 # everything, full sizes -> BENCHMARKS.md
    .venv/bin/python bench/run.py --only catalog  # one benchmark; its section is replaced
    .venv/bin/python bench/run.py --quick         # smoke run, small sizes -> bench/work/
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import shutil
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import QUICK_ENV, loadavg, machine  # noqa: E402

# modules bench_<name>.py, in this order
BENCHMARKS = ["catalog", "upload", "datastore", "fuse", "national", "web", "quality", "scenarios",
              "live"]
START = "<!-- bench:{} -->"
END = "<!-- /bench:{} -->"


def _header(command: str, info: dict[str, str]) -> str:
    lines = ["# vntwin benchmarks", "",
             "Written by `bench/run.py` (`make bench`); do not edit by hand. Each goal is "
             "measured against a baseline in the same run where one makes sense.", "",
             f"- Last run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
             f"- Command: `{command}`"]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines.append(f"- Load average at end: {loadavg()} (other work on the machine adds noise "
                 "to the timings; compare ratios within a run)")
    return "\n".join(lines) + "\n"


def _wrap(name: str, body: str, command: str, seconds: float) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{START.format(name)}\n{body.rstrip()}\n\n"
            f"_Measured {stamp} by `{command}` in {seconds:.0f} s._\n{END.format(name)}\n")


def _merge(existing: str, sections: dict[str, str], order: list[str]) -> dict[str, str]:
    """Sections of an earlier BENCHMARKS.md, replaced by the ones run now."""
    kept: dict[str, str] = {}
    for name in order:
        m = re.search(re.escape(START.format(name)) + r".*?" + re.escape(END.format(name))
                      + r"\n?", existing, flags=re.S)
        if m:
            kept[name] = m.group(0)
    kept.update(sections)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, a smoke run; writes bench/work/BENCHMARKS.quick.md")
    parser.add_argument("--output", type=Path, help="where to write the Markdown")
    parser.add_argument("--keep", action="store_true", help="keep the work dirs afterwards")
    args = parser.parse_args(argv)

    names = args.only or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    if args.quick:
        os.environ[QUICK_ENV] = "1"
    output = args.output or (HERE / "work" / "BENCHMARKS.quick.md" if args.quick
                             else ROOT / "BENCHMARKS.md")
    command = " ".join(["python bench/run.py", *map(shlex.quote, (argv or sys.argv[1:]))])

    info = machine()
    sections: dict[str, str] = {}
    failed = []
    for name in names:
        try:
            module = importlib.import_module(f"bench_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench_{name}":
                print(f"[{name}] skipped: bench/bench_{name}.py does not exist", flush=True)
                continue
            raise
        workdir = HERE / "work" / name
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        print(f"[{name}] running in {workdir.relative_to(ROOT)} ...", flush=True)
        t0 = time.perf_counter()
        try:
            body = module.run(workdir)
        except Exception:
            failed.append(name)
            body = (f"## {name}\n\n**Failed**:\n\n```\n{traceback.format_exc()}```\n")
            traceback.print_exc()
        seconds = time.perf_counter() - t0
        print(f"[{name}] done in {seconds:.0f} s", flush=True)
        sections[name] = _wrap(name, body, command, seconds)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    existing = output.read_text() if output.exists() and args.only else ""
    merged = _merge(existing, sections, BENCHMARKS)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(_header(command, info) + "\n" + "\n".join(
        merged[n] for n in BENCHMARKS if n in merged))
    print(f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
