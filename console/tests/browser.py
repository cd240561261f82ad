"""A real headless Chromium for the console's browser tests (Debian's chromium + chromium-driver,
driven by Selenium): the driver, and `Page`, the browser plus what each page must satisfy."""

import contextlib
import shutil
import time

import pytest
from django.conf import settings

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# Every browser test module's marks: it starts Chromium against the live server (a transactional database).
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER), reason="no chromium/chromedriver: apt-get install -y chromium chromium-driver"
    ),
]

SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots"
DESKTOP, PHONE = (1280, 900), (390, 844)


@contextlib.contextmanager
def chromium_driver():
    """A headless Chromium driven by Selenium (Debian's chromium and chromium-driver), French, at DESKTOP size."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--lang=fr-FR",
        "--disable-extensions",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_window_size(*DESKTOP)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """The browser plus what each page must satisfy: no JavaScript console error."""

    def __init__(self, driver, base_url: str):
        self.driver, self.base_url = driver, base_url

    def console_errors(self) -> list[dict]:
        return [entry for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        assert self.console_errors() == []

    def log_in(self, email: str, password: str, *, next_path: str = "/admin/dashboard/") -> None:
        """Sign in through the admin's login form, landing on `next_path`."""
        self.open(f"/admin/login/?next={next_path}")
        self.css("#id_username").send_keys(email)
        self.css("#id_password").send_keys(password)
        self.click_and_load("input[type=submit]")

    def csp_refuses_inline_script(self) -> bool:
        """Inject an inline script: True when the page's Content-Security-Policy refused it (the
        browser reports the violation and the script does not run). Its console error is consumed."""
        verdict = self.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            document.addEventListener('securitypolicyviolation',
                e => done({directive: e.effectiveDirective, ran: !!window.injectedRan}), {once: true});
            const script = document.createElement('script');
            script.textContent = 'window.injectedRan = true';
            document.body.appendChild(script);
            if (window.injectedRan) done({directive: null, ran: true});""")
        logged = self.driver.get_log("browser")
        return verdict == {"directive": "script-src-elem", "ran": False} and all(
            "Content Security Policy" in entry["message"] for entry in logged
        )

    def css(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def click_and_load(self, selector: str) -> None:
        """Click an element that submits a form or follows a link; wait for the next page."""
        old = self.css("html")
        self.css(selector).click()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                old.tag_name  # noqa: B018 (raises once the old page is gone)
            except Exception:
                break
            time.sleep(0.05)
        self.wait_ready()
        assert self.console_errors() == []

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while self.driver.execute_script("return document.readyState") != "complete":
            assert time.monotonic() < deadline, "page did not finish loading"
            time.sleep(0.05)

    def text(self, selector: str) -> str:
        return self.css(selector).text.strip()

    def screenshot(self, name: str, size: tuple[int, int]) -> str:
        """The whole page at `size`'s width (the window made as tall as the page)."""
        self.driver.set_window_size(*size)
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(size[0], max(size[1], height))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path))
        self.driver.set_window_size(*size)
        return str(path.relative_to(settings.BASE_DIR))

    def viewport_screenshot(self, name: str) -> str:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path))
        return str(path.relative_to(settings.BASE_DIR))

    def metrics(self) -> dict:
        """The page's size and load time as the browser measured them (Navigation/Resource Timing)."""
        return self.driver.execute_script("""
            const nav = performance.getEntriesByType('navigation')[0];
            const resources = performance.getEntriesByType('resource');
            return {
              html_bytes: nav.decodedBodySize,
              resources: resources.length,
              resource_bytes: resources.reduce((sum, r) => sum + r.decodedBodySize, 0),
              dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd - nav.startTime),
              load_ms: Math.round(nav.loadEventEnd - nav.startTime),
              server_ms: Math.round(nav.responseStart - nav.requestStart),
            };""")
