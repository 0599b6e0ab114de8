"""The suite's one deployment, and the figures printed at the end of every run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.harness import RECORDED, SOAK, FaultyDeployment


@pytest.fixture(scope="package")
def faulty() -> Iterator[FaultyDeployment]:
    deployment = FaultyDeployment()
    try:
        yield deployment.start()
    finally:
        deployment.close()


@pytest.fixture
def system(faulty: FaultyDeployment) -> FaultyDeployment:
    """The deployment with every process up, whatever the scenario before did."""
    faulty.ensure_running()
    return faulty


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RECORDED:
        return
    form = "soak (TAIZHANG_SOAK=1)" if SOAK else "bounded"
    terminalreporter.section(f"fault injection figures, {form}")
    for figures in RECORDED:
        terminalreporter.write_line(figures.line())
    total = [sum(getattr(f, n) for f in RECORDED) for n in ("offered", "accepted", "found")]
    lost = sum(f.lost for f in RECORDED)
    duplicated = sum(f.duplicated for f in RECORDED)
    terminalreporter.write_line(
        f"{'all scenarios':<46} offered {total[0]:>5}  accepted {total[1]:>5}  "
        f"found {total[2]:>5}  duplicated {duplicated}  lost {lost}"
    )
