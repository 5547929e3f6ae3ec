"""The dashboard in headless Chromium (Debian's chromium + chromedriver, driven by Selenium).

``.ci/run`` installs chromium and chromium-driver; elsewhere the test is skipped when they
are missing, except under CI where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from .conftest import Venues

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1800",
)


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture
def browser() -> Iterator[object]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test needs {missing}; .ci/run installs it")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ARGS:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _serve(app: Flask) -> Iterator[tuple[str, Flask]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join()


@pytest.fixture
def served(make_app: Callable[..., Flask]) -> Iterator[tuple[str, Flask]]:
    yield from _serve(make_app())


@pytest.mark.slow
def test_dashboard_shows_the_paper_banner_trades_and_the_pnl_chart(
    browser: object, served: tuple[str, Flask], venues: Venues, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    url, app = served
    client = app.test_client()
    assert client.post("/api/scan").get_json()["executed"] == 4
    venues.resolve(next(g for g in venues.games if g.event_ticker.endswith("NYKHOU")))
    assert client.post("/api/settle").get_json() == {"settled": 1}

    browser.get(url + "/")
    wait = WebDriverWait(browser, 20)
    banner = browser.find_element(By.ID, "banner")
    assert banner.get_attribute("data-mode") == "paper"
    assert "PAPER TRADING" in banner.text
    # The script has rendered once the trade rows and the chart are there.
    rows = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#trades tbody tr[data-row=trades]"))
    assert len(rows) == 4
    settled_row = next(r for r in rows if "settled" in r.text)
    assert "kalshi" in settled_row.text
    assert "polymarket" in settled_row.text
    assert "paper-" in settled_row.text  # the legs' order ids
    chart = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#pnl-chart svg[data-points='1']"))
    line = chart.find_element(By.CSS_SELECTOR, "polyline.line")
    assert len((line.get_attribute("points") or "").split()) == 2  # the origin and one settlement
    assert chart.size["height"] > 100
    assert browser.find_element(By.ID, "balance").text.startswith("$")
    opportunities = browser.find_elements(By.CSS_SELECTOR, "#opportunities tbody tr[data-row=opportunities]")
    assert len(opportunities) == 4  # the last scan's (taken before the game resolved)
    assert browser.find_elements(By.CSS_SELECTOR, "#positions tbody tr[data-row=positions]")
    # The numbers read back as the API gives them, rounded to the cent (never cut).
    state = client.get("/api/trading/state").get_json()
    assert browser.find_element(By.ID, "balance").text == dollars(state["balance"])
    assert browser.find_element(By.ID, "realized").text == dollars(state["realised_pnl"])
    # The chart has a dollar axis with the zero line and a time axis.
    y_labels = [t.text for t in chart.find_elements(By.CSS_SELECTOR, "text.ylabel")]
    assert "$0.00" in y_labels
    assert dollars(state["pnl_history"][-1]["pnl"]) in y_labels
    assert len(chart.find_elements(By.CSS_SELECTOR, "text.xlabel")) == 3
    assert chart.find_elements(By.CSS_SELECTOR, "line.zero")
    assert len(chart.find_elements(By.CSS_SELECTOR, "circle.dot")) == 1
    limits = browser.find_element(By.ID, "limits").text
    assert "max position" in limits
    assert "max per market" in limits
    assert "trading running" in limits
    settled_cells = settled_row.find_elements(By.TAG_NAME, "td")
    assert settled_cells[-1].text not in ("", "–")  # the settlement time
    page = browser.page_source
    assert "🔴" not in page  # no emoji font needed
    assert "📄" not in page
    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("POLYMIX_SCREENSHOT"):  # keep a copy to look at
        shutil.copy(shot, os.environ["POLYMIX_SCREENSHOT"])


def _rows(driver: Any, table: str) -> list[list[str]] | None:
    """Each row's cell texts of a dashboard table (``None`` while it has none)."""
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr[data-row={table}]")
    return [[c.text for c in r.find_elements(By.TAG_NAME, "td")] for r in rows] or None


def _click(driver: Any, selector: str) -> bool:
    """Click the element ``selector`` finds now (inside a wait that retries a replaced element)."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, selector).click()
    return True


def dollars(value: str) -> str:
    """What the dashboard shows for an amount: rounded half away from zero to the cent, grouped."""
    amount = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


@pytest.mark.slow
def test_the_dashboard_controls_pause_resume_and_kill_after_confirmation(
    browser: object, served: tuple[str, Flask]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    url, app = served
    client = app.test_client()
    browser.get(url + "/")
    wait = WebDriverWait(browser, 20)
    state = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#control-state[data-state=running]"))
    assert state.text == "running"

    browser.find_element(By.ID, "pause").click()
    browser.switch_to.alert.dismiss()  # "no": nothing happens
    assert client.get("/api/trading/state").get_json()["controls"]["state"] == "running"

    browser.find_element(By.ID, "pause").click()
    browser.switch_to.alert.accept()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#control-state[data-state=paused]"))
    assert client.get("/api/trading/state").get_json()["controls"]["state"] == "paused"
    assert client.post("/api/scan").get_json()["executed"] == 0
    banner = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#alert [data-code=trading_paused]"))
    assert "paused" in banner.text

    browser.find_element(By.ID, "resume").click()
    browser.switch_to.alert.accept()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#control-state[data-state=running]"))

    browser.find_element(By.ID, "kill").click()
    assert "cancel every resting order" in browser.switch_to.alert.text
    browser.switch_to.alert.accept()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#control-state[data-state=killed]"))
    assert "kill: trading is killed" in browser.find_element(By.ID, "control-result").text
    assert client.get("/api/trading/state").get_json()["controls"]["state"] == "killed"


@pytest.fixture
def served_live(make_app: Callable[..., Flask], venues: Venues) -> Iterator[tuple[str, Flask]]:
    from .test_live_mode import live_credentials

    yield from _serve(make_app(live_credentials(venues)))


@pytest.mark.slow
def test_live_dashboard_shows_each_venue_next_to_the_store_and_flattens_after_confirmation(
    browser: object, served_live: tuple[str, Flask]
) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    from arbkit.models import OrderRequest, Side

    from .test_live_mode import AUTH, LIVE_TOKEN

    assert isinstance(browser, WebDriver)
    url, app = served_live
    client = app.test_client()
    assert client.post("/api/scan", headers=AUTH).get_json()["executed"] > 0
    recon = client.post("/api/reconcile", headers=AUTH).get_json()
    assert recon["mismatches"] == []
    browser.get(url + "/")
    # The dashboard re-renders every 5 s: each read happens inside a wait that looks again when
    # the element it held was just replaced.
    wait = WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,))
    rows = wait.until(lambda d: _rows(d, "venues"))
    assert {cells[0] for cells in rows} == {"kalshi", "polymarket"}
    truth = {v["venue"]: v for v in recon["venues"]}
    for cells in rows:
        venue = truth[cells[0]]
        # The venue's own cash, as the venue reported it, and every position store / venue.
        assert cells[1] == dollars(venue["cash_total"] or venue["cash_available"])
        assert venue["positions"]
        assert all(p["stored"] == p["venue"] for p in venue["positions"])
        assert cells[-1] == "agrees"

    # Flatten the first open position: the prompt asks for the loss bound; cancelling sends nothing.
    browser.find_element(By.ID, "api-token").send_keys(LIVE_TOKEN)
    before = client.get("/api/trading/state").get_json()["open_positions"]
    trade_id = wait.until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#positions button.flatten").get_attribute("data-trade")
    )
    flatten = f"#positions button[data-trade='{trade_id}']"
    wait.until(lambda d: _click(d, flatten))
    assert "sell back everything" in browser.switch_to.alert.text
    browser.switch_to.alert.dismiss()
    assert len(client.get("/api/trading/state").get_json()["open_positions"]) == len(before)
    wait.until(lambda d: _click(d, flatten))
    browser.switch_to.alert.send_keys("1000")
    browser.switch_to.alert.accept()
    result = wait.until(
        lambda d: t if "flatten:" in (t := d.find_element(By.ID, "control-result").text) else None
    )
    assert "unwound" in result
    flat = next(t for t in client.get("/api/trading/state").get_json()["trades"] if t["id"] == trade_id)
    assert flat["status"] == "unwound"
    assert trade_id not in {t["id"] for t in client.get("/api/trading/state").get_json()["open_positions"]}

    # Someone buys on a venue behind arbkit's back: the next reconciliation shows the venue
    # disagreeing, in its row and in the banner.
    kalshi = app.extensions["polymix"].bot.scanner.exchanges["kalshi"]
    market = next(m for m in kalshi.markets() if m.outcomes)
    book = kalshi.order_book(market, market.outcomes[0].id)
    assert book.best_ask is not None
    kalshi.place_order(OrderRequest(market, market.outcomes[0].id, Side.BUY, book.best_ask.price, Decimal(3)))
    assert client.post("/api/reconcile", headers=AUTH).get_json()["mismatches"]
    browser.refresh()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#venues [data-agrees=false]"))
    assert wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#alert [data-code=reconciliation_mismatch]"))
    marked = wait.until(
        lambda d: next(
            (
                (r.text, len(r.find_elements(By.CSS_SELECTOR, ".mismatch")))
                for r in d.find_elements(By.CSS_SELECTOR, "#venues tbody tr[data-row=venues]")
                if r.text.startswith("kalshi")
            ),
            None,
        )
    )
    assert "MISMATCH" in marked[0]
    assert marked[1] > 0


@pytest.mark.slow
def test_the_dashboard_shows_each_feed_and_the_detection_latency_while_streaming(
    browser: object, make_app: Callable[..., Flask], venues: Venues, streams: dict[str, object]
) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    from .test_live_mode import AUTH, live_credentials

    assert isinstance(browser, WebDriver)
    app = make_app({**live_credentials(venues), **streams["env"]})  # type: ignore[dict-item]
    assert app.extensions["polymix"].start_streaming()
    client = app.test_client()
    client.post("/api/scan", headers=AUTH)  # lists, matches and subscribes
    for url, _ in _serve(app):
        browser.get(url + "/")
        # The dashboard re-renders every 5 s: read each value inside the wait, and look again
        # when the element read was just replaced.
        wait = WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,))
        for venue in ("kalshi", "polymarket"):
            wait.until(
                lambda d, v=venue: d.find_element(
                    By.CSS_SELECTOR, f"#feeds [data-venue={v}][data-state=live]"
                )
            )
        latency = wait.until(lambda d: t if "p50" in (t := d.find_element(By.ID, "latency").text) else None)
        health = client.get("/api/health").get_json()["streaming"]["detection_latency_ms"]
        assert health["count"] > 0
        assert "ms" in latency
        streams["polymarket"].stop()  # type: ignore[attr-defined]
        wait.until(
            lambda d: (
                d.find_element(By.CSS_SELECTOR, "#feeds [data-venue=polymarket]").get_attribute("data-state")
                != "live"
            )
        )
        banner = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#alert [data-code=feed_stale]").text)
        assert "polymarket feed is" in banner
