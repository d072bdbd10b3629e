"""Long-form reliability runner: the fault tests with more runs and bigger storms.

Runs ``tests/integration/test_reliability.py`` (short and ``slow`` variants) against the
broker at ``CORRELATOR_KAFKA_BOOTSTRAP`` (SASL listener on ``CORRELATOR_KAFKA_SASL_PORT``),
passing the sizes below as environment variables, and prints one row per measurement the
tests reported. Nothing here invents figures: every number comes from a test that passed
or failed on a real broker.

    python3 -m correlator.stream.local_kafka up --sasl-port 9094
    python3 bench/reliability.py --runs 3 --storm 50000 --churn 200000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="kill -9 runs per worker count (3)")
    p.add_argument("--storm", type=int, default=50_000, help="storm size, fingerprints (50000)")
    p.add_argument("--churn", type=int, default=200_000, help="churn fingerprints (200000)")
    p.add_argument("--seed", type=int, default=7, help="seed for kill points (7)")
    p.add_argument("-k", dest="select", default="", help="pytest -k expression (all)")
    p.add_argument("--short-only", action="store_true", help="skip the slow variants")
    p.add_argument("--report", help="keep the raw JSON-lines report here")
    return p.parse_args(argv)


def _row(doc: dict[str, Any]) -> str:
    rest = ", ".join(f"{k}={v}" for k, v in sorted(doc.items()) if k != "test")
    return f"| {doc['test']} | {rest} |"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = Path(args.report) if args.report else Path(tempfile.mkstemp(suffix=".jsonl")[1])
    report.write_bytes(b"")
    env = {
        **os.environ,
        "CORRELATOR_RELIABILITY_REPORT": str(report),
        "CORRELATOR_RELIABILITY_RUNS": str(args.runs),
        "CORRELATOR_RELIABILITY_STORM": str(args.storm),
        "CORRELATOR_RELIABILITY_CHURN": str(args.churn),
        "CORRELATOR_RELIABILITY_SEED": str(args.seed),
    }
    argv_pytest = [
        sys.executable,
        "-m",
        "pytest",
        "tests/integration/test_reliability.py",
        "-q",
        "-p",
        "no:cacheprovider",
        "--durations=0",
    ]
    # The project's pytest defaults deselect `slow`; the long form selects everything.
    argv_pytest += ["-m", "not slow" if args.short_only else "slow or not slow"]
    if args.select:
        argv_pytest += ["-k", args.select]
    start = time.monotonic()
    code = subprocess.run(argv_pytest, cwd=REPO, env=env, check=False).returncode
    took = time.monotonic() - start
    rows = [orjson.loads(line) for line in report.read_bytes().splitlines() if line.strip()]
    print(f"\nreliability: pytest exit {code} after {took:.0f} s; {len(rows)} measurement(s)")
    print("| test | figures |\n|---|---|")
    for doc in rows:
        print(_row(doc))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
