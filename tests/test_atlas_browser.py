"""The atlas's pages in a real headless Chromium (Debian's, driven by Playwright).

Each page is opened served on 127.0.0.1 and from disk: it loads without a console error,
requests nothing from another host, draws its map (coloured pixels on the canvas), and a
sample build's pages carry the sample-data banner. The portrait of a sample commune shows
the values of indicators.long, and an absent value as "Pas de donnée".
"""

from __future__ import annotations

import io
import re
import shutil
import threading
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from pipelines.atlas.serve import atlas_server

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking switches Chromium calls Google's hosts at every start.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]  # fmt: skip
NO_DATA = "Pas de donnée"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's chromium (make test does it first)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def atlas(sample_build):
    home, _ = sample_build
    server = atlas_server(home.atlas, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"http": f"http://127.0.0.1:{server.server_address[1]}/", "file": home.atlas.as_uri() + "/", "home": home}
    server.shutdown()
    server.server_close()


class Opened:
    """A page opened and drawn, with what it logged and requested."""

    def __init__(self, browser, base: str, path: str):
        self.page = browser.new_page(viewport={"width": 1366, "height": 900})
        self.errors, self.foreign = [], []
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: None if request.url.startswith((base, "data:")) else self.foreign.append(request.url))
        self.page.goto(base + path)
        self.page.wait_for_selector("body[data-ready='1']", timeout=20_000)

    def coloured_share(self, selector: str) -> float:
        """Share of the element's pixels that are coloured (not white, grey or black)."""
        image = Image.open(io.BytesIO(self.page.locator(selector).screenshot())).convert("RGB")
        colours = image.getcolors(maxcolors=1 << 22)
        coloured = sum(count for count, (r, g, b) in colours if max(r, g, b) - min(r, g, b) > 40)
        return coloured / (image.size[0] * image.size[1])

    def close(self):
        self.page.close()


def first_code(home, sql: str) -> str:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


PAGES = {
    "index": "index.html",
    "indicator-commune": "indicator.html#population/commune/2026",
    "indicator-departement": "indicator.html#gp_per_10k/departement/2024",
    "programme": "programme.html#cafes",
    "portrait-commune": "portrait.html#commune/71024",
    "portrait-departement": "portrait.html#departement/71",
}


@pytest.mark.parametrize("mode", ["http", "file"])
@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_loads_draws_and_stays_on_its_host(browser, atlas, mode, name):
    opened = Opened(browser, atlas[mode], PAGES[name])
    try:
        assert opened.errors == [], f"console errors on {name}: {opened.errors}"
        assert opened.foreign == [], f"{name} requested another host: {opened.foreign}"
        banner = opened.page.locator(".sample-banner")
        assert banner.is_visible() and "Données d'exemple" in banner.inner_text()
        if name.startswith(("indicator", "programme")):
            assert opened.coloured_share("#map") > 0.02, f"{name}: the map has hardly any coloured pixel"
            assert opened.page.locator("#legend").inner_text().strip()
        if name.startswith("portrait"):
            assert opened.page.locator("#portrait-values tr[data-indicator]").count() > 20
    finally:
        opened.close()


def parse_french_number(text: str) -> float:
    """The number a cell starts with, as toLocaleString('fr-FR') writes it (groups of digits
    separated by a narrow no-break space, a decimal comma), the unit after a plain space."""
    match = re.match(r"[-\u2212]?\d{1,3}(?:[\u202f\u00a0]\d{3})*(?:,\d+)?", text.strip())
    assert match, f"not a number: {text!r}"
    return float(re.sub(r"[\u202f\u00a0]", "", match.group(0)).replace(",", ".").replace("\u2212", "-"))


def test_a_commune_portrait_shows_the_values_of_indicators_long_and_no_data_where_absent(browser, atlas):
    home = atlas["home"]
    code = first_code(
        home, "select code from indicators.long where level = 'commune' and indicator_id = 'poverty_rate' and value is null order by code"
    )
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        expected = {
            (indicator, vintage): value
            for indicator, vintage, value in con.execute(
                """
                select l.indicator_id, l.vintage, l.value
                from indicators.long as l join indicators.catalogue as c using (indicator_id)
                where l.level = 'commune' and l.code = ? and (l.category is null or c.formula = 'category')
                """,
                [code],
            ).fetchall()
        }
    opened = Opened(browser, atlas["http"], f"portrait.html#commune/{code}")
    try:
        shown = opened.page.eval_on_selector_all(
            "#portrait-values tr[data-indicator]",
            "rows => rows.map(r => [r.dataset.indicator, r.dataset.vintage, r.querySelector('.value').textContent])",
        )
    finally:
        opened.close()
    assert {(i, v) for i, v, _ in shown} == set(expected)
    for indicator, vintage, text in shown:
        value = expected[(indicator, vintage)]
        if value is None:
            assert text.strip() == NO_DATA, f"{indicator} {vintage}: absent, shown as {text!r}"
        else:
            assert parse_french_number(text) == pytest.approx(value, abs=5e-4, rel=1e-6), f"{indicator} {vintage}: {text!r}"
    assert any(v is None for v in expected.values())


def test_hovering_the_map_names_the_area_and_a_click_opens_its_portrait(browser, atlas):
    opened = Opened(browser, atlas["http"], "indicator.html#population/commune/2026")
    try:
        page = opened.page
        box = page.locator("#map").bounding_box()
        image = Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB")
        # a pixel of a drawn commune: coloured, well inside the canvas
        x, y = next(
            (x, y)
            for y in range(20, image.size[1] - 20, 7)
            for x in range(20, image.size[0] - 20, 7)
            if (lambda r, g, b: max(r, g, b) - min(r, g, b) > 60)(*image.getpixel((x, y)))
        )
        page.mouse.move(box["x"] + x, box["y"] + y)
        tooltip = page.locator("#tooltip")
        tooltip.wait_for(state="visible", timeout=5_000)
        assert "habitants" in tooltip.inner_text() and "2026" in tooltip.inner_text()
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_url(re.compile(r"portrait\.html#commune/\w{5}$"), timeout=10_000)
        page.wait_for_selector("body[data-ready='1']", timeout=10_000)
        assert page.locator("#portrait-values tr[data-indicator='population']").count() >= 1
        assert opened.errors == []
    finally:
        opened.close()


def test_the_programme_map_lists_the_eligible_units_and_explains_one(browser, atlas):
    home = atlas["home"]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        eligible = con.execute("select count(*) from programmes.targets where programme = 'cafes' and eligible").fetchone()[0]
        first, summary = con.execute(
            "select code, reason_summary from programmes.targets where programme = 'cafes' and eligible order by rank_france limit 1"
        ).fetchone()
    opened = Opened(browser, atlas["http"], "programme.html#cafes")
    try:
        page = opened.page
        rows = page.locator("#programme-list tbody tr[data-code]")
        assert rows.count() == eligible
        assert rows.first.get_attribute("data-code") == first
        rows.first.click()
        details = page.locator("#unit-details")
        details.wait_for(state="visible")
        assert summary.split("; ")[0] in details.inner_text()
        assert opened.errors == []
    finally:
        opened.close()
