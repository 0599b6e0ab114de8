"""Issue 10, second round: the Excel export of 100,000 ledger rows, streamed; peak RSS.

    nice -n 10 .venv/bin/python -m bench.xlsx               # ~2 minutes (100,000 rows)
    .venv/bin/python -m bench.xlsx --quick                  # smoke run (2,000 rows)

One tracking service (``taizhang serve tracking``) with a private schema, its ledger
generated with ``bench.ledgerdata``; then ``GET /api/v1/ledger.xlsx`` as the office, the
answer streamed to a file. The figure is the service's peak resident memory (``VmHWM`` in
/proc: the high-water mark over the process's life, so nothing between two samples is
missed) against the issue's limit of 300 MiB; RSS is also sampled every 20 ms to show when
the peak came. The file is checked: its sheet has a row per case plus the two title rows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import zipfile
from pathlib import Path

import httpx

from bench import ledgerdata
from bench.common import (
    BenchProcess,
    Servers,
    pg_version,
    report_options,
    run_bench,
)
from bench.common import deployment as new_deployment
from bench.figures import Baseline, Figure, Report, say
from bench.progress import bar

LIMIT_MIB = 300.0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.xlsx", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 rows")
    parser.add_argument("--rows", type=int, default=100_000, help="ledger rows to export")
    report_options(parser, "logs and the exported file")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = 2_000
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)

    def measure(report: Report, srv: Servers, out: Path) -> None:
        with new_deployment(out, srv.pg_url, srv.nats_url) as d:
            assert d.pg_url is not None
            d.create_schema()
            tracking = d.start("tracking")
            with bar(f"ledger → {args.rows:,}", args.rows) as advance:
                made = asyncio.run(ledgerdata.fill(d.pg_url, d.schema, args.rows, progress=advance))
            report.note(f"generated {made.rows:,} ledger rows in {made.seconds:.1f} s")
            export(report, tracking, d.token("office", "压测纠风办"), out, args.rows)

    return run_bench(
        "bench.xlsx",
        argv,
        args,
        lambda srv: {
            "servers": f"{srv.origin}: PostgreSQL {pg_version(srv.pg_url)}",
            "rows": f"{args.rows:,}",
        },
        measure,
    )


def export(report: Report, tracking: BenchProcess, token: str, out: Path, rows: int) -> None:
    before = tracking.rss_mb()
    sampler = RssSampler(tracking)
    target = out / "ledger.xlsx"
    began = time.monotonic()
    with (
        sampler,
        httpx.stream(
            "GET",
            f"{tracking.url}/api/v1/ledger.xlsx",
            headers={"Authorization": f"Bearer {token}"},
            timeout=600,
        ) as answer,
    ):
        answer.raise_for_status()
        with target.open("wb") as file:
            for chunk in answer.iter_bytes(1 << 16):
                file.write(chunk)
    seconds = time.monotonic() - began
    peak = tracking_peak_mb(tracking)
    written = sheet_rows(target) - 2  # the title and the header rows
    if written != rows:
        raise RuntimeError(f"the export has {written:,} case rows, the ledger {rows:,}")
    say(
        f"exported {written:,} rows in {seconds:.1f} s ({written / seconds:,.0f} rows/s), "
        f"{target.stat().st_size / 2**20:.1f} MiB file"
    )
    report.figure(
        Figure(
            f"tracking peak RSS exporting {rows:,} rows to xlsx",
            peak,
            "MiB",
            Baseline("L", "the issue's limit", LIMIT_MIB, "MiB"),
            "≤",
            1,
            detail=(
                f"RSS before the export {before:.1f} MiB, highest sample {sampler.peak:.1f} MiB "
                f"at {sampler.peak_at:.1f} s of {seconds:.1f} s; {written / seconds:,.0f} rows/s"
            ),
        )
    )


class RssSampler:
    """RSS of a process every 20 ms while in the ``with`` block."""

    def __init__(self, process: BenchProcess, interval: float = 0.02) -> None:
        self.process = process
        self.interval = interval
        self.peak = 0.0
        self.peak_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._began = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss = self.process.rss_mb()
            if rss > self.peak:
                self.peak, self.peak_at = rss, time.monotonic() - self._began


def tracking_peak_mb(process: BenchProcess) -> float:
    """The process's high-water mark of resident memory (VmHWM)."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmHWM:")
    return kb / 1024


def sheet_rows(path: Path) -> int:
    """Rows in the workbook's first sheet, counted in its XML without loading it."""
    with zipfile.ZipFile(path) as book, book.open("xl/worksheets/sheet1.xml") as sheet:
        count, tail = 0, b""
        while chunk := sheet.read(1 << 20):
            data = tail + chunk
            count += data.count(b"<row ")
            tail = data[-5:]
            count -= tail.count(b"<row ")  # counted again with the next chunk
        return count + tail.count(b"<row ")


if __name__ == "__main__":
    sys.exit(main())
