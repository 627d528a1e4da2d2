"""report.html in a real browser (Debian's headless Chromium through chromedriver, which `make test` installs when
missing): the page opens with a few thousand examples, shows its tables and figures, the viewer's filters and
search work, hostile outputs stay text (no script of theirs runs), and the page logs no error."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from test_report_html import HOSTILE, paper2_results, run_dir, sample

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (`make test` installs them with apt-get where it can; "
           "here it could not)")
EXAMPLES = 3000
PWNED = '<img src=x onerror="window.__pwned = 1">'


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in requirements.lock")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from faithex.report import write_reports

    samples = [sample(i, f"tweet number {i} about flights", "negative", gold=i % 2, answer=0,
                      failed=["answer"] if i % 50 == 0 else ())
               for i in range(EXAMPLES - len(HOSTILE) - 1)]
    samples += [sample(EXAMPLES + i, f"hostile {value}", value, gold=1, answer=0) for i, value in enumerate(HOSTILE)]
    samples.append(sample(2 * EXAMPLES, "needle in the haystack", PWNED, gold=0, answer=0))
    folder = run_dir(tmp_path_factory.mktemp("report"), paper2_results(), samples)
    _, page = write_reports(folder)
    return page, samples


def test_the_page_opens_with_tables_figures_and_every_example_and_runs_no_output(browser, report, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    page, samples = report
    started = time.perf_counter()
    browser.get(page.as_uri())
    count = browser.find_element(By.ID, "viewer-count")
    opened = time.perf_counter() - started
    errors_expected = sum(s["parsed"]["answer"] != s["gold"] for s in samples)

    assert count.text == f"100 of {len(samples)} matching examples shown ({len(samples)} in the run)"
    assert len(browser.find_elements(By.CSS_SELECTOR, "section#overview table")) >= 2
    assert len(browser.find_elements(By.CSS_SELECTOR, "section#paper2 figure svg")) == 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#viewer-body tr.example")) == 100
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    print(f"\nreport.html with {len(samples)} examples ({page.stat().st_size / 1e6:.1f} MB) opened and drawn in "
          f"{opened:.2f} s")

    # errors only: the count matches the samples whose answer is not their gold label
    browser.find_element(By.ID, "only-errors").click()
    assert count.text.endswith(f"of {errors_expected} matching examples shown ({len(samples)} in the run)")
    browser.find_element(By.ID, "only-errors").click()

    # the search finds the one hostile sample, shown as the text it is
    search = browser.find_element(By.ID, "viewer-search")
    search.send_keys("needle haystack")
    time.sleep(0.4)  # the search waits 150 ms after the last key
    assert count.text == f"1 of 1 matching examples shown ({len(samples)} in the run)"
    row = browser.find_element(By.CSS_SELECTOR, "#viewer-body tr.example")
    assert PWNED in row.text
    row.click()
    detail = browser.find_element(By.CSS_SELECTOR, "#viewer-body tr.detail")
    assert "needle in the haystack" in detail.text and "prompt: answer" in detail.text
    for value in HOSTILE[:2]:
        search.clear()
        search.send_keys(value.split()[0])
        time.sleep(0.4)
        assert value.split()[0] in browser.find_element(By.ID, "viewer-body").text

    # nothing a model wrote ran: no alert, no handler fired, and the console is clean
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    assert browser.execute_script("return window.__pwned") is None
    logged = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert logged == [], json.dumps(logged, indent=1)
