"""Drives the real Switchboard app window through tauri-driver and WebKitWebDriver.

Usage: window.py APP_BINARY DRIVER_URL SHOTS_DIR

The app starts the daemon itself and shows the dashboard it serves, signed in. In the window:
install server-time from the local registry fixture (Discover, one click), see it running,
stop it from the UI, and see the state change. Screenshots of the window go to SHOTS_DIR.
Each step prints its name; the first that fails ends the run saying which.
"""

import os
import sys

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

app, driver_url, shots = sys.argv[1:4]
os.makedirs(shots, exist_ok=True)

options = ArgOptions()
options.set_capability("browserName", "wry")
options.set_capability("tauri:options", {"application": app})
driver = webdriver.Remote(command_executor=driver_url, options=options)
step = "start"


def wait(seconds=30):
    # The dashboard re-renders lists as answers arrive; a replaced element is looked up again.
    return WebDriverWait(driver, seconds, ignored_exceptions=[StaleElementReferenceException])


def css(selector, seconds=30):
    return wait(seconds).until(ready.visibility_of_element_located((By.CSS_SELECTOR, selector)))


def text_in(selector, text, seconds=30):
    wait(seconds).until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))


def click_text(tag, text, seconds=30):
    xpath = f"//{tag}[normalize-space(.)='{text}']"
    wait(seconds).until(ready.element_to_be_clickable((By.XPATH, xpath))).click()


def begin(name):
    global step
    step = name
    print(f"- {name}", flush=True)


try:
    begin("the window shows the dashboard, signed in, from the daemon the app started")
    text_in("main h1", "Servers", 60)
    css(".empty")
    driver.save_screenshot(os.path.join(shots, "app-empty.png"))

    begin("Discover finds server-time in the registry fixture")
    click_text("a", "Discover")
    search = css("#search")
    search.send_keys("time")
    click_text("button", "Search")
    # The list is replaced when the answer comes: click only in the answer to this search.
    css("ul.results[data-query=time][aria-busy=false]")
    result = "//ul[@data-query='time']//a[contains(@href, 'modelcontextprotocol%2Fserver-time')]"
    wait().until(lambda d: d.find_element(By.XPATH, result).click() or True)
    text_in("form h2", "Install")

    begin("one click installs it, and it runs")
    click_text("button", "Install")
    css("[data-testid=installed]", 180).find_element(By.TAG_NAME, "a").click()
    text_in("[data-testid=detail-state]", "running", 60)
    driver.save_screenshot(os.path.join(shots, "app-installed.png"))

    begin("Stop in the window stops it, and the state changes")
    click_text("button", "Stop")
    text_in("[data-testid=detail-state]", "stopped", 60)
    click_text("a", "← All servers")
    text_in("tr[data-server=server-time] [data-testid=state]", "stopped")
    driver.save_screenshot(os.path.join(shots, "app-stopped.png"))
    print("app window: every step passed", flush=True)
except (TimeoutException, Exception) as e:  # noqa: BLE001 - report any failure with its step
    try:
        driver.save_screenshot(os.path.join(shots, "app-failed.png"))
        body = driver.find_element(By.TAG_NAME, "body").text
    except Exception:  # noqa: BLE001
        body = "(the window could not be read)"
    print(f"app window step failed: {step}\n{type(e).__name__}: {e}\nthe window showed:\n{body}", file=sys.stderr)
    sys.exit(1)
finally:
    driver.quit()
