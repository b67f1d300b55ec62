"""Drive the real dashboard: `adw dashboard` as a subprocess, headless Chromium via selenium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "dashboard"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,1000",
)


def require_browser() -> None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "headless Chromium not found: install the Debian packages chromium and "
            "chromium-driver (apt-get install chromium chromium-driver, or .ci/install-browser.sh)"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dashboard(home: Path, port: int, log: Path) -> subprocess.Popen:
    """``adw dashboard --port P`` over ``home``; returns once /_stcore/health answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    env.update(ADW_HOME=str(home), DO_NOT_TRACK="1", PYTHONUNBUFFERED="1")
    adw = Path(sys.executable).parent / "adw"
    log.parent.mkdir(parents=True, exist_ok=True)  # a tier may run no test that made it
    out = log.open("w")
    proc = subprocess.Popen(
        [str(adw), "dashboard", "--port", str(port)], env=env, stdout=out, stderr=out
    )
    deadline = time.monotonic() + 300  # the first start exports a snapshot (a Dagster run)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"adw dashboard exited {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"adw dashboard did not answer in 300 s:\n{log.read_text()}")


_STATE_JS = """
const app = document.querySelector('[data-testid="stApp"]');
const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
return {
  state: app ? app.getAttribute('data-test-script-state') : null,
  charts: charts.length,
  drawn: charts.filter(c => c.querySelector('.main-svg')).length,
  metrics: document.querySelectorAll('[data-testid="stMetric"]').length,
  skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length,
  exceptions: [...document.querySelectorAll('[data-testid="stException"]')].map(e => e.innerText),
  alerts: [...document.querySelectorAll('[data-testid="stAlert"]')].map(e => e.innerText),
  url: location.href,
  body: document.body ? document.body.innerText.slice(0, 300) : null,
};
"""
_METRICS_JS = """
return [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
  m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
  m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]);
"""
_TABLES_JS = """
return [...document.querySelectorAll('[data-testid="stTable"] table')].map(t => ({
  head: [...t.querySelectorAll('thead th')].map(c => c.innerText.trim()),
  rows: [...t.querySelectorAll('tbody tr')].map(r =>
    [...r.querySelectorAll('th, td')].map(c => c.innerText.trim())),
}));
"""
_PLOTLY_JS = """
const arr = v => v && v._inputArray ? Array.from(v._inputArray)
  : (ArrayBuffer.isView(v) ? Array.from(v) : v);
return [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
  title: gd.layout && gd.layout.title ? gd.layout.title.text : null,
  traces: gd.data.map(t => ({type: t.type, name: t.name, x: arr(t.x), y: arr(t.y),
    labels: arr(t.labels), values: arr(t.values), ids: arr(t.ids)})),
}));
"""


_MAPS_JS = """
return [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(el => {
  const canvas = el.querySelector('canvas');
  const svg = el.querySelector('svg');
  let painted = 0, colours = new Set();
  if (canvas && canvas.width) {
    const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] > 0) { painted++; colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]); }
    }
  } else if (svg) {
    const shapes = [...svg.querySelectorAll('path')]
      .filter(p => (p.getAttribute('d') || '').length > 20);
    painted = shapes.length;
    shapes.forEach(p => colours.add(p.getAttribute('fill')));
  }
  return {painted: painted, colours: colours.size, text: el.innerText};
});
"""


class Browser:
    """A headless Chromium page on the dashboard, with what the tests read from the DOM."""

    def __init__(self, base_url: str, profile: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        self.driver.set_page_load_timeout(60)
        self.base_url = base_url
        self.requested: set[str] = set()

    def close(self) -> None:
        self.driver.quit()

    def open(self, path: str = "", charts: int = 0, timeout: float = 60) -> dict:
        self.driver.get(f"{self.base_url}/{path}")
        return self.wait_ready(charts, timeout)

    def wait_ready(self, charts: int = 0, timeout: float = 60) -> dict:
        """Until the script finished and at least ``charts`` Plotly charts are drawn."""
        deadline = time.monotonic() + timeout
        state: dict = {}
        stable = 0
        while time.monotonic() < deadline:
            state = self.driver.execute_script(_STATE_JS)
            ready = (
                state["state"] == "notRunning"
                and state["charts"] >= charts
                and state["drawn"] == state["charts"]
                and not state["skeletons"]
            )
            stable = stable + 1 if ready else 0
            if stable >= 3:  # three polls in a row: no rerun started in between
                return state
            time.sleep(0.25)
        raise AssertionError(f"page not ready in {timeout} s: {state}")

    def metrics(self) -> list[tuple[str, str]]:
        """(label, value) of every KPI card, in page order."""
        return [tuple(m) for m in self.driver.execute_script(_METRICS_JS)]

    def tables(self) -> list[dict]:
        return self.driver.execute_script(_TABLES_JS)

    def plotly(self) -> list[dict]:
        return self.driver.execute_script(_PLOTLY_JS)

    def maps(self) -> list[dict]:
        """Per Vega-Lite chart (the maps): painted pixels (canvas) or drawn shapes (SVG), and
        their distinct colours."""
        return self.driver.execute_script(_MAPS_JS)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        height = self.driver.execute_script(
            "const m = document.querySelector('[data-testid=\"stMain\"]');"
            "return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight);"
        )
        self.driver.set_window_size(1440, min(max(int(height) + 40, 1000), 6000))
        time.sleep(0.6)  # charts re-layout to the new size
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1440, 1000)
        return path

    def drain_requests(self) -> set[str]:
        """URLs of every request the page made so far (Chrome DevTools network events)."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requested.add(message["params"]["request"]["url"])
            elif message["method"] == "Network.webSocketCreated":
                self.requested.add(message["params"]["url"])
        return self.requested

    def external_requests(self) -> list[str]:
        hosts_ok = {"127.0.0.1", "localhost"}
        return sorted(
            u
            for u in self.drain_requests()
            if urlparse(u).scheme in ("http", "https", "ws", "wss")
            and urlparse(u).hostname not in hosts_ok
        )

    def choose(self, label: str, option: str) -> None:
        """Pick ``option`` in the Streamlit selectbox labelled ``label``."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        box = self.driver.find_element(
            By.XPATH,
            f'//div[@data-testid="stSelectbox"][.//label//*[normalize-space()="{label}"]]',
        )
        box.find_element(By.CSS_SELECTOR, "input").click()
        field = box.find_element(By.CSS_SELECTOR, "input")
        field.send_keys(option)
        time.sleep(0.3)
        field.send_keys(Keys.ENTER)
