"""Every workbench page on the demo's data set in Chromium (issue 22, "done when"): no 5xx and
no untranslated English. The rule: every visible text node contains Chinese, or is on a short
allowlist — numbers, dates and times, case numbers, unit codes, percentages and punctuation —
or sits in ``<code>``. Screenshots of each page go to ``test-artifacts/demo-*.png``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.infra import ServerThread
from tests.support.pinned import NOW
from tests.workbench.test_browser import ARTIFACTS, Office, browser

pytestmark = pytest.mark.browser
__all__ = ["browser"]

TAIZHANG = str(Path(sys.executable).parent / "taizhang")
PAGES = (
    "ledger",
    "intake",
    "desk",
    "accountability",
    "dashboard",
    "assessment",
    "rounds",
    "circulars",
    "units",
    "rules",
    "categories",
    "calendar",
    "inbox",
)
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Numbers, dates, times, case numbers, percentages, punctuation, arrows; unit codes (WC-JYQ),
# alone or listed.
ALLOWED = re.compile(
    r"^[\d\s.,:;%/+\-–—()()·…|×#№<>←→↑↓*,。:;、!?\[\]]*$"
    r"|^[A-Z]{2,}(-[A-Z0-9]+)+([、,]\s*[A-Z]{2,}(-[A-Z0-9]+)+)*$"
)
ROWS = """rs => rs.map(r => [
  r.dataset.status, r.querySelector('a[href^="/ui/cases/"]').getAttribute('href')
])"""
# What the page keeps in the browser: every visible text node outside <code>, <script>, <style>.
VISIBLE_TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, text = node.textContent.trim();
    const parent = node.parentElement;
    if (!text || !parent || parent.closest('code, script, style, noscript')) continue;
    if (!parent.getClientRects().length) continue;
    out.push(text);
  }
  return out;
}"""


@pytest.fixture(scope="module")
def demo_office(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    data = tmp_path_factory.mktemp("ui-demo") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
    seeded = subprocess.run(
        [TAIZHANG, "demo", "--as-of", NOW.isoformat(), "--cases", "24"],
        env=env | {"TAIZHANG_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    settings = Settings(data_dir=data)
    with ServerThread(create_app(settings)) as server:
        yield Office(server.url, settings, browser)


def english_on(page: Page) -> list[str]:
    texts: list[str] = page.evaluate(VISIBLE_TEXTS)
    return [t for t in texts if not CHINESE.search(t) and not ALLOWED.match(t)]


def visit(page: Page, path: str, name: str, shot: bool = True) -> list[str]:
    answer = page.goto(path)
    assert answer is not None and answer.status < 500, (path, answer and answer.status)
    if shot:
        page.screenshot(path=str(ARTIFACTS / f"demo-{name}.png"), full_page=True)
    return [f"{path}: {text!r}" for text in english_on(page)]


def test_every_page_on_the_demo_data_is_in_chinese(demo_office: Office) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = demo_office.sign_in("office", "纠风办周某")
    found = [english for name in PAGES for english in visit(page, f"/ui/{name}", name)]
    rows = []
    for number in (1, 2):  # the demo's 24 cases on the ledger's two pages
        page.goto(f"/ui/ledger?page={number}")
        rows += page.locator("tr[data-status]").evaluate_all(ROWS)
    one_per_status = dict(reversed(rows))  # the newest case of each status
    assert {"closed_out", "in_progress", "registered", "merged"} <= set(one_per_status)
    for status, path in sorted(one_per_status.items()):
        found += visit(page, path, f"case-{status}", shot=status in ("closed_out", "second_pass"))
    assert not found, "\n".join(found[:40])


def test_a_liaisons_and_an_evaluators_pages_on_the_demo_data_are_in_chinese(
    demo_office: Office,
) -> None:
    office = demo_office.sign_in("office", "纠风办周某")
    office.goto("/ui/ledger?status=in_progress")
    first = office.locator("tr[data-status='in_progress'] a[href^='/ui/cases/']").first
    office.goto(str(first.get_attribute("href")))
    unit = office.locator("#lead-unit").inner_text().strip()
    office.goto("/ui/units")
    codes: dict[str, str] = dict(
        office.locator("#units tbody tr").evaluate_all(
            "rs => rs.map(r => [r.cells[1].innerText.trim(), r.cells[0].innerText.trim()])"
        )
    )
    code = codes[unit]
    liaison = demo_office.sign_in("unit_liaison", "联络员王某", code)
    found = [
        e for name in ("ledger", "inbox") for e in visit(liaison, f"/ui/{name}", f"unit-{name}")
    ]
    liaison.goto("/ui/ledger")
    rows = liaison.locator("tr[data-number] a[href^='/ui/cases/']")
    assert rows.count() >= 1
    found += visit(liaison, str(rows.first.get_attribute("href")), "unit-case")
    deputy = demo_office.sign_in("evaluator", "人大代表陈某")
    found += visit(deputy, "/ui/evaluations", "evaluations")
    assert not found, "\n".join(found[:40])
