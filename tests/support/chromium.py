"""Debian's Chromium, headless, as a person's browser for the tests: the DOM it builds and a screenshot.

Flags as this machine needs them (see the env notes): no sandbox as root, no GPU, and none of the
background networking that a closed network refuses; a fresh profile per call.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

EXECUTABLE = shutil.which("chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
# appended to a copy of a page: Chromium writes into the DOM whether it could decode each image
MEASURE_IMAGES = (
    "<script>window.addEventListener('load', () => { for (const image of document.images) "
    "{ image.setAttribute('data-natural-width', image.naturalWidth); } });</script>"
)
DATA_PNG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _run(*arguments: str, timeout: float = 90) -> str:
    assert EXECUTABLE is not None, "chromium is not installed (make setup installs it)"
    with tempfile.TemporaryDirectory(prefix="kfval-chromium-") as profile:
        done = subprocess.run(
            [EXECUTABLE, *FLAGS, f"--user-data-dir={profile}", *arguments],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dom(page: Path) -> str:
    """The DOM Chromium built from the page (scripts run, images decoded), as HTML."""
    return _run("--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri())


def measured_dom(page: Path) -> str:
    """The DOM of a copy of the page in which every <img> carries the width Chromium decoded it to."""
    copy = page.with_name(f".measured-{page.name}")
    copy.write_text(page.read_text(encoding="utf-8") + MEASURE_IMAGES, encoding="utf-8")
    try:
        return dom(copy)
    finally:
        copy.unlink()


def screenshot(page: Path, out: Path, *, width: int = 1280, height: int = 3000) -> Image.Image:
    """What a person sees of the page in a window of that size, saved as PNG at `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(f"--window-size={width},{height}", f"--screenshot={out.resolve()}", page.resolve().as_uri())
    image = Image.open(out)
    image.load()
    return image.convert("RGB")


def colours(image: Image.Image) -> int:
    """How many distinct colours the picture has (a blank page has one or two)."""
    return len(image.getcolors(maxcolors=1 << 24) or [])


def png_images(html: str) -> list[Image.Image]:
    """Every PNG the page inlines as a data URI, decoded."""
    found = []
    for encoded in DATA_PNG.findall(html):
        image = Image.open(io.BytesIO(base64.b64decode(encoded)))
        image.load()
        found.append(image.convert("RGB"))
    return found
