"""The built book in a real browser: every page loads with no error and no remote request, and
every stand-in slider moves through all its frames.

Needs the built book (``make book`` writes _build/html) and a Chromium on PATH; without either
the test is skipped and says why. The browser is driven through the DevTools protocol over a
pipe (``--remote-debugging-pipe``), with nothing to install: one tab opens each page and reports

- uncaught exceptions and console errors (``Runtime.exceptionThrown``, ``console.error``,
  ``Log`` entries of level error, such as a file that failed to load);
- every request that leaves the machine (``Network.requestWillBeSent`` with an http(s) URL; the
  browser's host resolver maps every name to nothing, so no request can succeed either);
- for each slider stand-in (``.vaelite-slider``): it moves the range input to every position,
  as a reader would (value + ``input`` event), and records the label and the image shown.
"""
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the built book; VAELITE_BOOK_HTML points the test at a book built elsewhere
HTML = Path(os.environ.get("VAELITE_BOOK_HTML", ROOT / "_build" / "html"))
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PAGE_TIMEOUT = 30  # seconds to load a page and move its sliders


def find_browser():
    return next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)


def pages():
    """Every HTML page of the built book, relative to _build/html."""
    if not HTML.is_dir():
        return []
    return sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts)


def skip_reason():
    if find_browser() is None:
        return f"no Chromium on PATH (looked for {', '.join(BROWSERS)})"
    if not pages():
        return f"the book is not built ({HTML} has no pages; run `make book` first)"
    return None


# Moves every stand-in slider through all its positions; returns what each position showed.
MOVE_SLIDERS = """
(async () => {
  const report = [];
  for (const root of document.querySelectorAll(".vaelite-slider")) {
    const input = root.querySelector("input[type=range]");
    const img = root.querySelector("img"), out = root.querySelector("output");
    const shown = [];
    for (let v = Number(input.min); v <= Number(input.max); v++) {
      input.value = String(v);
      input.dispatchEvent(new Event("input", {bubbles: true}));
      let decoded = true;
      try { await img.decode(); } catch (e) { decoded = false; }
      shown.push({value: v, label: out.textContent, src: img.src.slice(0, 30),
                  srcHash: img.src.length + ":" + img.src.slice(-40),
                  decoded: decoded && img.naturalWidth > 0,
                  alt: img.alt});
    }
    report.push({id: root.id, positions: Number(input.max) - Number(input.min) + 1, shown});
  }
  return report;
})()
"""


class Browser:
    """A headless Chromium driven through the DevTools protocol on fds 3 (in) and 4 (out)."""

    def __init__(self, executable):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def give_pipes():  # in the child: the protocol pipes as fds 3 and 4
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self._profile = tempfile.mkdtemp(prefix="vaelite-chromium-")
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-extensions", "--mute-audio",
                 "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={self._profile}",
                 "--remote-debugging-pipe", "about:blank"]
        self._process = subprocess.Popen([executable, *flags], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         preexec_fn=give_pipes, pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer, self._next_id, self.events = b"", 0, []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=self.session)

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [],
                                        max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("the browser did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed the protocol pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, session=None, timeout=PAGE_TIMEOUT, **params):
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method, timeout=PAGE_TIMEOUT):
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read_message(deadline))

    def open(self, url):
        """Load url; return (problems, sliders): what went wrong, and what each slider showed."""
        self.events = []
        self.call("Page.navigate", session=self.session, url=url)
        self.wait_for("Page.loadEventFired")
        result = self.call("Runtime.evaluate", session=self.session, expression=MOVE_SLIDERS,
                           awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"moving the sliders failed: {result['exceptionDetails']}")
        self.call("Runtime.evaluate", session=self.session, expression="0")  # flush events
        return problems_in(self.events), result["result"]["value"]

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self._profile, ignore_errors=True)


def problems_in(events):
    """Console errors, uncaught exceptions, failed loads and remote requests among the events."""
    problems = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"uncaught: {text} (line {details.get('lineNumber')})")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            problems.append(f"console.{params['type']}: {text}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            problems.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if url.split(":", 1)[0] in ("http", "https", "ws", "wss"):
                problems.append(f"remote request: {url}")
    return problems


@pytest.fixture(scope="module")
def browser():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    chromium = Browser(find_browser())
    yield chromium
    chromium.close()


def test_the_pages_cover_the_chapters_and_their_sliders():
    if skip_reason():
        pytest.skip(skip_reason())
    names = pages()
    assert "index.html" in names or "book/intro.html" in names
    assert sum(name.startswith("book/0") for name in names) >= 7
    sliders = sum((HTML / name).read_text(encoding="utf8").count('class="vaelite-slider"')
                  for name in names)
    assert sliders >= 7, "the chapters' slider stand-ins are missing from the pages"


@pytest.mark.parametrize("page", pages() or ["(no pages)"])
def test_page_loads_cleanly_and_its_sliders_move(browser, page):
    problems, sliders = browser.open((HTML / page).as_uri())
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)
    for slider in sliders:
        shown = slider["shown"]
        where = f"{page}, slider {slider['id']}"
        assert len(shown) == slider["positions"] >= 1, where
        assert all(s["decoded"] for s in shown), f"{where}: a frame does not decode"
        assert all(s["src"].startswith("data:image/png;base64,") for s in shown), where
        labels = [s["label"] for s in shown]
        assert len(set(labels)) == len(labels), f"{where}: labels {labels} repeat"
        assert all(s["label"] in s["alt"] for s in shown), f"{where}: alt text lags the label"
        if len(shown) > 1:  # moving the slider changes the picture
            assert len({s["srcHash"] for s in shown}) > 1, f"{where}: the image never changes"
