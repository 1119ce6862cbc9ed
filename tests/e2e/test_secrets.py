"""A run with known fake API keys leaves them nowhere: not in output, logs or Parquet.

`marketmesh run` generates its own key pair for the venue-sim it starts, so
this test gives one hedge venue (`binance-sim`) its key through `${ENV}`
placeholders in a temp copy of configs/local.yaml (the sim accepts a venue's
configured key too, so that venue really trades with it), and also sets
MARKETMESH_SIM_API_KEY / MARKETMESH_SIM_API_SECRET to known values, which
every process of the run inherits. Afterwards stdout, stderr, every file under
the data dir (Parquet as raw bytes and as strings via pyarrow) and every file
of the run's Ray session (its logs; `RAY_TMPDIR` points into a temp dir) are
searched for all four values.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.timeout(240)


def secrets_config(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "configs" / "local.yaml").read_text())
    venue = next(v for v in data["venues"] if v["id"] == "binance-sim")
    venue["api_key"] = "${MM_TEST_VENUE_KEY}"
    venue["api_secret"] = "${MM_TEST_VENUE_SECRET}"
    path = tmp_path / "secrets.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def every_file(*roots: Path) -> Iterator[Path]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink() and not path.name.startswith("plasma"):
                yield path


def parquet_strings(path: Path) -> str:
    """Every value of every text column (a secret can only hide in text)."""
    table = pq.read_table(path)
    out = []
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind):
            out.extend(str(v) for v in column.to_pylist())
    return "\n".join(out)


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    # short: Ray puts unix sockets under it (path length limit ~107 bytes)
    path = Path(tempfile.mkdtemp(prefix="mmray", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_known_fake_keys_never_reach_output_logs_or_parquet(tmp_path, ray_tmp):
    tag = uuid.uuid4().hex[:12]
    secrets = {
        "MM_TEST_VENUE_KEY": f"venuekey{tag}AK",
        "MM_TEST_VENUE_SECRET": f"venuesecret{tag}SS",
        "MARKETMESH_SIM_API_KEY": f"simkey{tag}AK",
        "MARKETMESH_SIM_API_SECRET": f"simsecret{tag}SS",
    }
    config = secrets_config(tmp_path)
    data = tmp_path / "data"
    env = {**os.environ, **secrets, "PYTHONUNBUFFERED": "1", "RAY_TMPDIR": str(ray_tmp)}
    run = subprocess.run(
        [
            *(sys.executable, "-m", "marketmesh", "run", str(config)),
            *("--duration", "8", "--data-dir", str(data)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    # the run really traded on the venue that holds the fake key
    hedge_files = list((data / "hedge_orders").rglob("*.parquet"))
    venues = {v for f in hedge_files for v in pq.read_table(f).column("venue").to_pylist()}
    assert "binance-sim" in venues, sorted(venues)

    files = list(every_file(data, ray_tmp))
    parquet = [f for f in files if f.suffix == ".parquet"]
    logs = [f for f in files if f.suffix in (".log", ".out", ".err", ".txt")]
    assert parquet and logs, (len(parquet), len(logs))
    # the search sees what is there: the venue's id shows in the bytes and the strings
    assert any(b"binance-sim" in f.read_bytes() for f in hedge_files)
    assert any("binance-sim" in parquet_strings(f) for f in hedge_files)
    leaks = []
    for name, value in secrets.items():
        needle = value.encode()
        if value in run.stdout or value in run.stderr:
            leaks.append(f"{name} in the run's output")
        for f in files:
            if needle in f.read_bytes():
                leaks.append(f"{name} in {f}")
        for f in parquet:
            if value in parquet_strings(f):
                leaks.append(f"{name} in {f} (as strings)")
    print(f"\nsearched {len(files)} files ({len(parquet)} Parquet, {len(logs)} logs)")
    assert leaks == []
