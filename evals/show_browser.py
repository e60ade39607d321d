"""Real-browser check of `ttd show`: a run's report.html in headless Chromium, loaded from file://.

Needs Debian's Chromium (not in CI's required path; install it with `apt-get update && apt-get install -y
chromium`, which this script does itself when it runs as root and finds none). For a run directory (default:
the newest finished run under TTD_HOME) it writes report.html, then

1. loads it with --dump-dom and reads the sizes the page's own script measured (timeline, each SVG chart);
2. collects console messages from Chromium's log (--enable-logging=stderr --v=0) and fails on any error,
   after first proving on a deliberately broken page (a script error and a blocked remote image) that the
   detector does see errors;
3. takes a screenshot into evals/results/show_report.png and writes evals/results/show_browser.md.

    PYTHONPATH=$PWD python evals/show_browser.py [RUN_DIR]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run("apt-get update -q && apt-get install -y -q chromium", shell=True, check=True)
        if found := shutil.which("chromium"):
            return found
    sys.exit("no Chromium: install it with 'apt-get update && apt-get install -y chromium'")


def browse(browser: str, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=3000",
                *extra,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )


def console_errors(stderr: str) -> list[str]:
    """Every console message in Chromium's log. Headless Chromium logs all of them at INFO (errors, CSP
    violations and uncaught exceptions included), and the page itself logs nothing, so any is a failure."""
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "Content Security Policy" in ln]


def newest_run() -> Path:
    from ttd.runs import list_runs

    for meta in list_runs():
        if (Path(meta["path"]) / "report.json").exists():
            return Path(meta["path"])
    sys.exit("no finished run: run 'ttd research ...' first")


def main() -> None:
    from ttd.report import load_report
    from ttd.show.page import write_report_html

    browser = chromium()
    run_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else newest_run()
    report = load_report(run_dir)
    page = write_report_html(report, run_dir)
    version = subprocess.run([browser, "--version"], capture_output=True, text=True).stdout.strip()

    # the detector must see errors, or "no errors" below means nothing
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "bad.html"
        bad.write_text(
            page.read_text(encoding="utf-8").replace(
                "</body>",
                '<img src="https://example.invalid/x.png"><script>noSuchFunction();</script></body>',
            )
        )
        caught = console_errors(browse(browser, bad.as_uri(), "--dump-dom").stderr)
    assert len(caught) == 2, f"the detector must see the script error and the blocked image: {caught}"

    dom = browse(browser, page.resolve().as_uri(), "--dump-dom")
    errors = console_errors(dom.stderr)
    found = re.search(r'data-rendered="([^"]*)"', dom.stdout)
    assert found, "the page's script did not run (no data-rendered attribute in the DOM)"
    sizes = json.loads(found.group(1).replace("&quot;", '"'))
    assert not errors, f"console errors: {errors}"
    assert sizes["timeline"][0] > 0 and sizes["timeline"][1] > 0, sizes
    assert sizes["charts"] and all(w > 0 and h > 0 for w, h in sizes["charts"]), sizes
    assert sizes["diffs"] == sum(1 for s in report.trajectory.steps if s.draft is not None), sizes

    RESULTS.mkdir(exist_ok=True)
    shot = RESULTS / "show_report.png"
    browse(browser, page.resolve().as_uri(), f"--screenshot={shot}", "--window-size=1280,4200")
    assert shot.exists() and shot.stat().st_size > 10_000, "no screenshot"
    lines = [
        "# `ttd show` in a real browser",
        "",
        f"- browser: {version} (Debian package), headless, page loaded from file://",
        f"- run: `{report.run_id}` ({report.config.get('models', {}).get('revise', '?')}), "
        f"{len(report.trajectory.drafts)} drafts, {len(report.trajectory.steps)} steps, "
        f"{len(report.sources)} sources cited",
        f"- page: {page.stat().st_size:,} bytes, one file",
        f"- console errors: {len(errors)} (the detector caught {len(caught)} on a broken copy: "
        "its uncaught script error and its CSP-blocked remote image)",
        f"- sizes (px, measured by the page): timeline {sizes['timeline'][0]}×{sizes['timeline'][1]}, "
        f"charts {', '.join(f'{w}×{h}' for w, h in sizes['charts'])}, {sizes['diffs']} diffs",
        f"- screenshot: evals/results/{shot.name}",
    ]
    (RESULTS / "show_browser.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
