"""Sampling profiles of a running service with py-spy, summarised as text.

The raw file holds collapsed stacks (``frame;frame;frame count``): open it in speedscope
(https://www.speedscope.app) or feed it to flamegraph.pl for the picture.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

OURS = ("services/", "shared/")
ROOT = str(Path(__file__).resolve().parent.parent) + "/"


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def record(
    pid: int,
    seconds: float,
    output: Path,
    rate: int = 200,
    *,
    wall: bool = False,
    children: bool = False,
) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` for ``seconds`` (returns at once; wait() on the result).

    ``wall``: every thread, idle ones included — where the *time* goes for a job that waits
    on its database (a rebuild), rather than where the interpreter is busy. ``children``:
    its child processes too (a rebuild's workers)."""
    binary = py_spy()
    if binary is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install -e '.[test]'")
    command = [binary, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))]
    # --gil: samples of the thread holding the interpreter, i.e. where a GIL-bound
    # process spends the time it could give to other requests.
    command += ["--rate", str(rate), "--nonblocking", *(["--idle"] if wall else ["--gil"])]
    command += ["--subprocesses"] if children else []
    command += ["--format", "raw", "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def summarise(collapsed: Path, top: int = 25) -> str:
    """The frames with the most samples on the stack (inclusive) and on top (self)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    threads: Counter[str] = Counter()
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        threads[frames[0]] += count
        for frame in set(frames[1:]):
            inclusive[_short(frame)] += count
        own[_short(frames[-1])] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples"]
    lines += ["threads:"] + [f"  {100 * n / total:5.1f}%  {t}" for t, n in threads.most_common(6)]
    lines += ["inclusive (our code):"]
    ours = [(f, n) for f, n in inclusive.most_common() if any(o in f for o in OURS)]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in ours[:top]]
    lines += ["self (top of stack):"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """``func (/long/path/site-packages/pkg/mod.py:12)`` → ``func (pkg/mod.py)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", ROOT, "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"
