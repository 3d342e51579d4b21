"""End-to-end timing of ``scripts/agreement.py --ratings FILE --level nominal --json``.

Builds a seeded long CSV (unit,coder,value) of 5 coders x 1,000,000 units with binary values and
10% of the ratings missing (absent rows, rows in random order) in a temporary directory, then
times the command line as a subprocess (wall clock, fresh interpreter each run: imports, CSV
parsing, pivoting and every coefficient included). Target: under ~2 s.

    python benchmarks/bench_agreement_ratings.py [--units N] [--coders C] [--repeats R]
        [--unit-ids int|str|both]

``--unit-ids int`` writes unit identifiers 0..N-1, ``str`` writes "seg0000001"-style strings
(the slower, hash-encoded path); ``both`` (default) times the two files.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "agreement.py"


def build_csv(
    path: Path, n_units: int, n_coders: int, missing: float, seed: int, unit_ids: str
) -> int:
    """Write the ratings CSV; returns the number of data rows."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n_units)
    values = np.where(rng.random((n_coders, n_units)) < 0.85, truth, 1 - truth)
    coder_idx, unit_idx = np.nonzero(rng.random((n_coders, n_units)) >= missing)
    order = rng.permutation(coder_idx.size)
    coder_idx, unit_idx = coder_idx[order], unit_idx[order]
    coders = np.array([f"coder{i + 1}" for i in range(n_coders)], dtype=object)
    if unit_ids == "int":
        units = unit_idx
    else:
        units = np.char.add("seg", np.char.zfill(unit_idx.astype(str), 7))
    columns = {"unit": units, "coder": coders[coder_idx], "value": values[coder_idx, unit_idx]}
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        pcsv.write_csv(
            pa.table({k: pa.array(v) for k, v in columns.items()}),
            path,
            write_options=pcsv.WriteOptions(quoting_style="none"),
        )
    except ImportError:
        import pandas as pd

        pd.DataFrame(columns).to_csv(path, index=False)
    return int(coder_idx.size)


def time_cli(path: Path, repeats: int) -> tuple[list[float], dict]:
    command = [sys.executable, str(SCRIPT), "--ratings", str(path), "--level", "nominal", "--json"]
    times, output = [], {}
    for _ in range(repeats):
        start = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        times.append(time.perf_counter() - start)
        if completed.returncode != 0:
            raise SystemExit(f"agreement.py failed: {completed.stderr.strip()}")
        output = json.loads(completed.stdout)
    return times, output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--coders", type=int, default=5)
    parser.add_argument("--missing", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--unit-ids", choices=("int", "str", "both"), default="both")
    args = parser.parse_args(argv)

    kinds = ["int", "str"] if args.unit_ids == "both" else [args.unit_ids]
    with tempfile.TemporaryDirectory(prefix="bench_agreement_") as tmp:
        for kind in kinds:
            path = Path(tmp) / f"ratings_{kind}.csv"
            start = time.perf_counter()
            rows = build_csv(path, args.units, args.coders, args.missing, args.seed, kind)
            built = time.perf_counter() - start
            times, output = time_cli(path, args.repeats)
            size_mb = path.stat().st_size / 1e6
            print(
                f"agreement CLI, {args.coders} coders x {args.units:,} units, binary, "
                f"{args.missing:.0%} missing, {kind} unit ids ({rows:,} rows, {size_mb:.0f} MB, "
                f"built in {built:.1f} s): best {min(times):.2f} s, median "
                f"{statistics.median(times):.2f} s over {len(times)} runs "
                f"[{', '.join(f'{t:.2f}' for t in times)}]"
            )
            print(
                f"  n_units={output['n_units']:,} krippendorff_alpha={output['krippendorff_alpha']:.4f} "
                f"fleiss_kappa={output['fleiss_kappa']:.4f} gwet_ac1={output['gwet_ac1']:.4f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
