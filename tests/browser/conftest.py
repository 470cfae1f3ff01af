"""Fixtures for the browser checks: the built book served on 127.0.0.1, and headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``make chromium``; another path can be
given in IDEBOOK_CHROMIUM), driven by Playwright from PyPI; Playwright never downloads a browser
here. The checks need the built book: they are skipped, with that reason, when _build/html is
missing (``make test`` builds it first). IDEBOOK_SITE and IDEBOOK_TOC point them at another build
or table of contents.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("IDEBOOK_SITE", ROOT / "_build" / "html"))
TOC = Path(os.environ.get("IDEBOOK_TOC", ROOT / "_toc.yml"))
SCREENSHOTS = Path(os.environ.get("IDEBOOK_SCREENSHOTS", ROOT / "_build" / "screenshots"))
CHROMIUM = os.environ.get("IDEBOOK_CHROMIUM", "/usr/bin/chromium")
# The flags that keep Chromium off the network and quiet as root in a container.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

_started = time.perf_counter()


def toc_pages(toc: Path = TOC) -> list[str]:
    """Every document of the table of contents (jb-book format), root first, in order."""
    data = yaml.safe_load(toc.read_text())
    pages = [data["root"]]

    def walk(entries: list) -> None:
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            for key in ("sections", "chapters", "parts"):
                walk(entry.get(key))

    walk(data.get("parts"))
    walk(data.get("chapters"))
    return pages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # the server answers
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"server exited with code {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout} s") from None
            time.sleep(0.2)


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").exists():
        pytest.skip(f"the book is not built ({SITE / 'index.html'} is missing): run `make book`")
    return SITE


@pytest.fixture(scope="session")
def server(site: Path):
    """``python -m http.server`` on 127.0.0.1 and a free port, serving the built book."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(site)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    with running(proc, base, 30):
        yield base


@contextlib.contextmanager
def running(proc: subprocess.Popen, url: str, timeout: float, grace: float = 10):
    """Wait until ``proc`` answers at ``url``; on exit terminate it (kill after ``grace`` s)."""
    try:
        wait_for_http(url, timeout, proc)
        yield proc
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (make chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    elapsed = time.perf_counter() - _started
    n = len(toc_pages()) if TOC.exists() else 0
    terminalreporter.write_line(
        f"browser checks: {elapsed:.1f} s in all ({n} pages in {TOC.name}; screenshots in "
        f"{SCREENSHOTS})")
