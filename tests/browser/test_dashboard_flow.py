"""A real headless Chromium drives the real server: clinician review and release; family sees only that."""

from __future__ import annotations

import pytest

from .conftest import shot
from .pages_world import PASSWORD

pytestmark = pytest.mark.browser


def _login(driver, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.delete_all_cookies()
    driver.get(base + "/login")
    user = driver.find_element(By.ID, "username")
    user.send_keys(username)
    user.send_keys(Keys.TAB)  # keyboard only: tab to the password field, Enter submits
    driver.switch_to.active_element.send_keys(PASSWORD + Keys.ENTER)


def test_clinician_releases_and_family_sees_only_the_release(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, world = live_server
    pid = world.ids["pat"]
    wait = WebDriverWait(browser, 15)

    browser.get(base + "/login")
    shot(browser, "01-login")
    _login(browser, base, "doc")
    wait.until(ec.url_to_be(base + "/caseload"))
    assert "Pat Example" in browser.page_source and "estimated" in browser.page_source
    shot(browser, "02-caseload")

    browser.find_element(By.LINK_TEXT, "Pat Example").click()
    wait.until(ec.url_to_be(f"{base}/patients/{pid}"))
    # the chart library ran and drew on the canvas
    wait.until(lambda d: d.execute_script("return !!(window.Chart && Chart.getChart('timeline'))"))
    shot(browser, "03-patient")

    browser.find_element(By.ID, "draft-report").click()
    wait.until(ec.presence_of_element_located((By.ID, "edit-form")))
    summary = browser.find_element(By.ID, "summary")
    summary.clear()
    released_text = "Reviewed by Dr. Doc: low mood and poor sleep; we will meet next week."
    summary.send_keys(released_text)
    advice = browser.find_element(By.ID, "family_advice")
    advice.clear()
    advice.send_keys("Invite him for a short walk each day.")
    browser.find_element(By.ID, "save-edit").click()
    wait.until(lambda d: "edit by" in d.page_source and released_text in d.page_source)
    browser.find_element(By.ID, "release").click()
    wait.until(lambda d: "release by" in d.page_source)
    assert "released" in browser.find_element(By.ID, "report-title").text
    assert browser.find_element(By.ID, "release").get_attribute("disabled") is not None
    shot(browser, "04-report-released")
    report_url = browser.current_url.split("#")[0]

    browser.get(f"{base}/patients/{pid}/monthly?month=2026-03")
    wait.until(lambda d: d.execute_script("return !!(window.Chart && Chart.getChart('monthly'))"))
    assert "chatted on 7 of 31 days" in browser.find_element(By.ID, "monthly-summary").text
    shot(browser, "05-monthly")

    # the family member
    _login(browser, base, "fam")
    wait.until(ec.url_to_be(base + "/family"))
    assert released_text not in browser.page_source  # the summary is for clinicians and the patient only
    assert "Invite him for a short walk each day." in browser.find_element(By.ID, "family-advice").text
    assert "I can barely sleep" not in browser.page_source  # no quotes from the patient's conversations
    assert "/conversations/" not in browser.page_source
    shot(browser, "06-family")

    # ...and cannot open the patient's conversations or pages, even by URL
    conv = world.app.state.ctx.db  # look the id up directly (the family page never shows one)
    from sqlalchemy import select

    from phqwatch.store.tables import Conversation

    with conv.read() as s:
        cid = s.scalar(select(Conversation.id).where(Conversation.person_id == pid).limit(1))
    browser.get(f"{base}/patients/{pid}/conversations/{cid}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not allowed"
    assert "I can barely sleep" not in browser.page_source
    shot(browser, "07-family-conversation-refused")
    browser.get(f"{base}/patients/{pid}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not allowed"
    browser.get(report_url)  # the released report itself is allowed, projected for family
    assert "Invite him for a short walk each day." in browser.find_element(By.ID, "family-advice").text
    assert released_text not in browser.page_source
    assert "I can barely sleep" not in browser.page_source

    # the patient sees their released report and trend
    _login(browser, base, "pat")
    wait.until(ec.url_to_be(base + "/me"))
    assert released_text in browser.page_source
    wait.until(lambda d: d.execute_script("return !!(window.Chart && Chart.getChart('timeline'))"))
    shot(browser, "08-patient-view")
