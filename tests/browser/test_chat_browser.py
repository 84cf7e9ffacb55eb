"""A real headless Chromium holds a full patient check-in with a crisis turn in the middle (replies streamed by
the page's script); the clinician sees the alert; a family member cannot reach the patient's chat by URL."""

from __future__ import annotations

import pytest

from .conftest import shot
from .pages_world import PASSWORD

pytestmark = pytest.mark.browser

TURNS = [
    "Work has been really stressful this week and I have been staying late most evenings",
    "I keep going over the meetings in my head when I get home and it is hard to switch off",
]
CRISIS = "I have the pills in front of me and I am going to take them all tonight"


def _login(driver, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)


def _assistant_count(driver) -> int:
    return int(driver.execute_script("return document.querySelectorAll('#chat-log .msg-assistant').length"))


def _say(driver, wait, text: str) -> str:
    from selenium.webdriver.common.by import By

    before = _assistant_count(driver)
    box = driver.find_element(By.ID, "chat-text")
    box.send_keys(text)
    driver.find_element(By.ID, "chat-send").click()
    wait.until(lambda d: _assistant_count(d) == before + 1 and d.find_element(By.ID, "chat-send").is_enabled())
    return driver.find_elements(By.CSS_SELECTOR, "#chat-log .msg-assistant")[-1].text


def test_patient_chat_with_a_crisis_turn_and_the_alert_on_the_clinicians_page(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, world = live_server
    pid = world.ids["pat2"]
    wait = WebDriverWait(browser, 20)

    _login(browser, base, "doc2")
    wait.until(ec.url_to_be(base + "/caseload"))
    browser.get(f"{base}/patients/{pid}")
    assert "Possible crisis risk" not in browser.page_source

    _login(browser, base, "pat2")
    wait.until(ec.url_to_be(base + "/me"))
    browser.find_element(By.ID, "nav-chat").click()
    wait.until(ec.url_to_be(base + "/chat"))
    browser.find_element(By.ID, "start-chat").click()
    wait.until(ec.presence_of_element_located((By.ID, "chat-form")))
    chat_url = browser.current_url
    assert "What would you like to focus on today?" in browser.page_source

    first = _say(browser, wait, TURNS[0])
    assert browser.current_url == chat_url  # sent by the script, no page load
    assert first and TURNS[0] not in first and "?" in first
    assert not browser.find_element(By.ID, "safety-banner").is_displayed()
    _say(browser, wait, TURNS[1])
    shot(browser, "chat-01-checkin")

    safety = _say(browser, wait, CRISIS)
    assert "988" in safety
    wait.until(lambda d: d.find_element(By.ID, "safety-banner").is_displayed())
    after = _say(browser, wait, "okay, I think I will call my sister after this conversation is over")
    assert "paused" in after and "988" in after
    shot(browser, "chat-02-safety")

    # the same conversation, reloaded from the server: every turn was stored
    browser.get(chat_url)
    assert browser.page_source.count("msg msg-user") == 4 and CRISIS in browser.page_source

    _login(browser, base, "doc2")
    wait.until(ec.url_to_be(base + "/caseload"))
    browser.get(f"{base}/patients/{pid}")
    alerts = browser.find_element(By.ID, "alerts-title").find_element(By.XPATH, "..").text
    assert "Possible crisis risk in a message from the patient" in alerts and "urgent" in alerts
    shot(browser, "chat-03-clinician-alert")


def test_family_member_cannot_reach_the_patients_chat_by_url(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, _world = live_server
    wait = WebDriverWait(browser, 20)
    _login(browser, base, "pat")
    wait.until(ec.url_to_be(base + "/me"))
    browser.get(base + "/chat")
    browser.find_element(By.ID, "start-chat").click()
    wait.until(ec.presence_of_element_located((By.ID, "chat-form")))
    patient_chat = browser.current_url
    _say(browser, wait, TURNS[0])

    _login(browser, base, "fam")
    wait.until(ec.url_to_be(base + "/family"))
    browser.get(patient_chat)
    assert "No conversation" in browser.page_source and TURNS[0] not in browser.page_source
    assert browser.find_elements(By.ID, "chat-form") == []
    browser.get(patient_chat + ".json")
    assert TURNS[0] not in browser.page_source
    shot(browser, "chat-04-family-refused")


def test_family_member_chats_with_javascript_off(live_server, browser):
    """The form post alone: no script runs, the page reloads with the reply (post-redirect-get)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, _world = live_server
    wait = WebDriverWait(browser, 20)
    _login(browser, base, "fam")
    wait.until(ec.url_to_be(base + "/family"))
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    browser.find_element(By.ID, "family-chat").click()
    wait.until(ec.url_to_be(base + "/chat"))
    browser.find_element(By.ID, "start-chat").click()
    wait.until(ec.presence_of_element_located((By.ID, "chat-form")))
    assert "your relative will not see it" in browser.page_source
    said = "He has stopped going to football practice and mostly stays in his room after school"
    browser.find_element(By.ID, "chat-text").send_keys(said)
    browser.find_element(By.ID, "chat-send").click()
    wait.until(
        lambda d: d.current_url.endswith("#latest") and len(d.find_elements(By.CSS_SELECTOR, ".msg-assistant")) == 2
    )
    # "#latest" comes only from the form post's redirect: the page's script never navigates
    assert said in browser.page_source and browser.current_url.endswith("#latest")
    shot(browser, "chat-05-family-no-js")
