"""Headless Chromium for the report pages: a screenshot, and a layout check in the real engine.

Why a real browser: whether a label is cut off at the chart's edge, or the
page scrolls sideways, is decided by font metrics and CSS layout, which
only a browser computes. The check is a script added to a *copy* of the
page (the page itself has no script): it measures every SVG text box with
getBBox() against its chart's viewBox and against the chart's other labels,
and the page width against the window.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]

CHECK = """<script>
window.addEventListener("load", () => {
  const clipped = [], overlapping = [];
  for (const svg of document.querySelectorAll("svg")) {
    const box = svg.viewBox.baseVal;
    const name = svg.getAttribute("aria-label");
    const seen = [];
    for (const t of svg.querySelectorAll(":scope > text, :scope > g > text")) {
      const b = t.getBBox();
      if (b.x < box.x - 0.5 || b.y < box.y - 0.5 || b.x + b.width > box.x + box.width + 0.5
          || b.y + b.height > box.y + box.height + 0.5)
        clipped.push(`${name}: ${t.textContent}`);
      for (const [other, o] of seen)
        if (b.x < o.x + o.width - 1 && o.x < b.x + b.width - 1
            && b.y < o.y + o.height - 1 && o.y < b.y + b.height - 1)
          overlapping.push(`${name}: ${other} / ${t.textContent}`);
      seen.push([t.textContent, b]);
    }
  }
  const out = document.createElement("pre");
  out.id = "layout";
  out.textContent = JSON.stringify({
    clipped, overlapping, pageWidth: document.documentElement.scrollWidth,
    windowWidth: window.innerWidth, height: document.documentElement.scrollHeight});
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (CI installs it: .ci/run)")
    return found


def _run(page: Path, size: tuple[int, int], *extra: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}",
             f"--window-size={size[0]},{size[1]}", *extra, page.as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(page: Path, png: Path, size: tuple[int, int]) -> None:
    _run(page, size, f"--screenshot={png}")
    assert png.stat().st_size > 10_000


def layout(page: Path, width: int) -> dict[str, Any]:
    """{'clipped': [...], 'overlapping': [...], 'pageWidth', 'windowWidth', 'height'}.

    `clipped`: labels reaching past their chart; `overlapping`: pairs of labels
    of one chart whose boxes overlap ("chart: label / label")."""
    probe = page.with_name(page.stem + ".probe.html")
    probe.write_text(page.read_text().replace("</body>", CHECK + "</body>"))
    dom = _run(probe, (width, 900), "--virtual-time-budget=10000", "--dump-dom")
    start = dom.index('<pre id="layout">') + len('<pre id="layout">')
    text = dom[start:dom.index("</pre>", start)]
    result: dict[str, Any] = json.loads(text.replace("&quot;", '"').replace("&amp;", "&")
                                        .replace("&lt;", "<").replace("&gt;", ">"))
    return result
