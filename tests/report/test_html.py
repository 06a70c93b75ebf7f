"""run-deal --report FILE.html: one self-contained page whose tables carry every
figure of the text tables, with inline SVG charts; optionally loaded in headless
Chromium (skipped when it is not installed)."""
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from interpreter.cli import main

DEALS = Path(__file__).resolve().parents[2] / "deals"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.open = [], [], []
        self.refs = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in ("meta", "rect", "line", "polyline", "br"):
            self.open.append(tag)
        self.refs += [v for k, v in attrs if k in ("href", "src") and v]

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (tag, self.open[-5:])
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def _tokens(text: str) -> set:
    """Every figure of a text table: numbers, percents, windows, month labels, '*'."""
    return set(re.findall(r"[\d][\d,.\-/]*%?|\*|[A-Z][a-z]{2}-\d\d|NA", text))


@pytest.mark.parametrize("deal", ["cwalt-2004-j4", "subprime-hel", "agency-cmo"])
def test_the_page_parses_and_carries_every_figure_of_the_text_tables(tmp_path, capsys, deal):
    path = str(DEALS / f"{deal}.waterfall")
    assert main([path]) == 0
    text = capsys.readouterr().out
    assert main([path, "--decrement"]) == 0
    text += capsys.readouterr().out
    page_file = tmp_path / "report.html"
    assert main([path, "--report", str(page_file)]) == 0
    page = _Page()
    page.feed(page_file.read_text())
    page.close()
    assert page.open == []  # every element closed
    assert page.refs == []  # nothing fetched: no link, script or image source
    assert "script" not in page.tags
    assert page.tags.count("svg") >= 4 and page.tags.count("table") >= 4
    body = " ".join(page.text)
    missing = _tokens(text) - _tokens(body)
    assert not missing, sorted(missing)[:20]


def test_a_report_is_written_whole(tmp_path, capsys):
    target = tmp_path / "r.html"
    target.write_text("old")
    assert main([str(DEALS / "sequential-cmo.waterfall"), "--report", str(target)]) == 0
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary left beside it
    assert main([str(DEALS / "sequential-cmo.waterfall"), "--report", str(tmp_path / "no" / "r.html")]) == 2
    assert "cannot write" in capsys.readouterr().err


def _chromium():
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (apt-get install chromium-headless-shell)")
def test_the_page_loads_in_headless_chromium_without_console_errors(tmp_path):
    page = tmp_path / "report.html"
    assert main([str(DEALS / "cwalt-2004-j4.waterfall"), "--report", str(page)]) == 0
    shot = tmp_path / "page.png"
    proc = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [l for l in proc.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    assert console == []
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
