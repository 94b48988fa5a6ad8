"""/admin in a real browser: Debian's headless Chromium, driven by Selenium, on live gunicorn.

An admin logs in, reads the overview and the directories, connects an Entra directory (its
first token provisions at once), rotates the directory's token
(the new one is shown once and works for SCIM at once), pauses provisioning and watches the
IdP get 403, resumes it, filters the journal; creates a project, assigns the IdP's group a
role on it and sees the member's access with its source, gives the group another role on an
agent of the project and composes a workforce of that agent; the IdP removes the member (a SCIM
PATCH to the same server) and the access goes; the assignment is removed after its
confirmation page; a local group gets the IdP group as a sub-group; the IdP group is mapped
to an additive role on the organization (seed 003); the user list and a
profile are read; group roles are switched off after the page saying whose access goes; the
audit log names the admin; a webhook endpoint is created (its secret shown once); a
phone-sized window scrolls nothing sideways; and the admin
logs out. A screenshot of every page is
saved under artifacts/screenshots/ (not committed): look at them.

Nothing is downloaded: the browser and its driver are Debian's `chromium` and
`chromium-driver` (`.ci/run` installs them), and Selenium is given the driver's path, so its
driver manager never runs. Without them the test is skipped on a developer's machine and
fails in CI (ROLECALL_REQUIRE_BROWSER=1).
"""

import os
import re
import shutil
from pathlib import Path

import pytest
import requests

from tests import servers
from tests.conftest import GROUP_SCHEMA, PASSWORD, USER_SCHEMA, create_admin, make_directory

# The pages' behaviour on each backend is the test client's (tests/admin): the browser walk
# runs once, in the SQLite pass.
pytestmark = [pytest.mark.slow, pytest.mark.one_backend]

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WAIT = 20  # seconds for a page to load on a loaded 2-core machine


@pytest.fixture
def browser():
    """A headless Chromium, closed after the test."""
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("ROLECALL_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromium-driver are required (apt-get install them)")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Headless, as root in a sandbox-less container, and quiet: no background connections
    # (the machine has no network beyond the package registries).
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1400",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def test_an_admin_manages_a_directory_in_the_browser(app, database_url, browser):
    """Log in, rotate the token, pause and resume the IdP, filter the journal, log out."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    directory = make_directory(app, org_slug="acme", name="okta")
    create_admin(app)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    env = {"ROLECALL_SECRET_KEY": "browser-test-secret"}
    with servers.gunicorn(database_url, workers=2, env=env) as (base, _):
        scim = requests.Session()
        scim.headers["Authorization"] = f"Bearer {directory.token}"
        user = {"schemas": [USER_SCHEMA], "userName": "alice@example.com"}
        made = scim.post(f"{base}/scim/v2/Users", json=user, timeout=WAIT)
        assert made.status_code == 201
        alice = made.json()["id"]
        engineering = {"schemas": [GROUP_SCHEMA], "displayName": "Engineering"}
        engineering["members"] = [{"value": alice}]
        group = scim.post(f"{base}/scim/v2/Groups", json=engineering, timeout=WAIT).json()["id"]
        assert scim.get(f"{base}/scim/v2/Users/nope", timeout=WAIT).status_code == 404

        def shot(name):
            browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

        def navigated(action):
            """Do something that loads a page, and wait until the new page has loaded."""
            browser.execute_script("window.rolecallOldPage = true")
            action()
            WebDriverWait(browser, WAIT, ignored_exceptions=(WebDriverException,)).until(
                lambda b: b.execute_script(
                    "return !window.rolecallOldPage && document.readyState === 'complete'"
                )
            )

        def click(text):
            """Click a button and wait for the page it leads to (a form post navigates)."""
            button = browser.find_element(By.XPATH, f"//button[normalize-space()='{text}']")
            navigated(button.click)

        def follow(text):
            """Follow a link and wait for the page it leads to."""
            navigated(browser.find_element(By.LINK_TEXT, text).click)

        browser.get(f"{base}/admin/")
        assert browser.current_url.startswith(f"{base}/admin/login"), browser.page_source[:2000]
        shot("01-login")
        browser.find_element(By.ID, "email").send_keys("ada@example.com")
        browser.find_element(By.ID, "password").send_keys("a wrong password")
        click("Log in")
        assert "Wrong email or password" in browser.page_source
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.ID, "email").clear()
        browser.find_element(By.ID, "email").send_keys("ada@example.com")
        click("Log in")
        assert browser.current_url == f"{base}/admin/"
        assert "ada@example.com" in browser.page_source
        shot("02-overview")

        follow("Directories")
        assert f"{base}/scim/v2" in browser.page_source
        shot("03-directories")
        browser.find_element(By.ID, "directory-name").send_keys("entra")
        Select(browser.find_element(By.ID, "directory-provider")).select_by_visible_text("entra")
        click("Connect")
        first_token = browser.find_element(By.ID, "new-token").text
        assert "Tenant URL" in browser.page_source
        shot("03b-directory-connected")
        entra = requests.Session()
        entra.headers["Authorization"] = f"Bearer {first_token}"
        assert entra.get(f"{base}/scim/v2/Users", timeout=WAIT).status_code == 200
        follow("Directories")
        follow("okta")
        page = browser.page_source
        assert "last hour: 3 requests, 1 failed (33 %)" in page
        assert "GET /scim/v2/Users/nope" in page
        shot("04-directory")

        grace = browser.find_element(By.ID, "grace_hours")
        grace.clear()
        grace.send_keys("0")
        click("Rotate")
        new_token = browser.find_element(By.ID, "new-token").text
        assert re.fullmatch(r"rcs_\S+", new_token)
        assert "1 older token(s) stopped working now." in browser.page_source
        shot("05-token-rotated")
        rotated = requests.Session()
        rotated.headers["Authorization"] = f"Bearer {new_token}"
        assert rotated.get(f"{base}/scim/v2/Users", timeout=WAIT).status_code == 200
        assert scim.get(f"{base}/scim/v2/Users", timeout=WAIT).status_code == 401  # no grace

        click("Pause provisioning")
        assert "is paused" in browser.page_source
        assert rotated.get(f"{base}/scim/v2/Users", timeout=WAIT).status_code == 403
        shot("06-paused")
        click("Resume provisioning")
        assert "is resumed" in browser.page_source
        assert rotated.get(f"{base}/scim/v2/Users", timeout=WAIT).status_code == 200

        browser.get(f"{base}/admin/directories/okta?status=errors")
        journal = browser.find_element(By.CSS_SELECTOR, "table.journal").text
        assert "/scim/v2/Users/nope" in journal and "POST" not in journal
        shot("07-journal-errors")

        # Seed 000: a project, an IdP group holding a role on it, a member's access appearing
        # with its source, then the IdP removing the member and the access going.
        follow("Projects")
        browser.find_element(By.ID, "slug").send_keys("web")
        click("Create project")
        assert browser.current_url == f"{base}/admin/projects/web"
        browser.find_element(By.ID, "group-holder").send_keys("Engineering")
        Select(browser.find_element(By.ID, "group-role")).select_by_visible_text("viewer")
        click("Assign group")
        access = browser.find_element(By.ID, "access").text
        assert "alice@example.com viewer" in access and "Engineering" in access
        shot("09-project-access")
        # The same group on an asset with another role; a workforce composed of that agent.
        browser.find_element(By.ID, "asset-slug").send_keys("bot")
        click("Create asset")
        browser.find_element(By.ID, "asset-slug").send_keys("crew")
        Select(browser.find_element(By.ID, "asset-kind")).select_by_visible_text("workforce")
        click("Create asset")
        follow("bot")
        browser.find_element(By.ID, "group-holder").send_keys("Engineering")
        Select(browser.find_element(By.ID, "group-role")).select_by_visible_text("member")
        click("Assign group")
        access = browser.find_element(By.ID, "access").text
        assert "alice@example.com member" in access and "group Engineering" in access
        shot("09b-asset-access")
        follow("web")
        follow("crew")
        browser.find_element(By.CSS_SELECTOR, "input[name=agents][value=bot]").click()
        click("Save composition")
        assert "crew now uses bot." in browser.page_source
        shot("09c-workforce")
        follow("web")
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": f'members[value eq "{alice}"]'}],
        }
        removed = rotated.patch(f"{base}/scim/v2/Groups/{group}", json=patch, timeout=WAIT)
        assert removed.status_code in (200, 204), removed.text
        navigated(browser.refresh)
        after = browser.find_element(By.ID, "access").text
        assert "alice@example.com" not in after and "cascade from owner on org" in after
        shot("10-access-revoked")
        follow("Remove…")
        assert "Nobody's access changes: no one holds access through this alone." in (
            browser.page_source
        )
        shot("11-confirm-unassign")
        click("Remove")
        assert "Removed: viewer held by group Engineering" in browser.page_source

        # Seed 004: a local group holding the IdP group as a sub-group.
        follow("Groups")
        browser.find_element(By.ID, "name").send_keys("Partners")
        browser.find_element(By.ID, "group-slug").send_keys("partners")
        click("Create group")
        browser.find_element(By.ID, "member").send_keys("Engineering")
        Select(browser.find_element(By.ID, "member-kind")).select_by_visible_text("group")
        click("Add")
        assert "Engineering group" in browser.find_element(By.ID, "members").text
        shot("12-local-group")
        # Seed 003: the IdP group mapped to an additive role on the organization.
        follow("Engineering")
        Select(browser.find_element(By.ID, "grant-role")).select_by_visible_text("agent_creator")
        click("Assign")
        assert "org agent_creator" in browser.find_element(By.ID, "roles").text
        shot("12b-group-roles")
        follow("Users")
        shot("13-users")
        follow("ada@example.com")
        shot("14-user")
        # Seed 003: group roles switched off after the page that says whose access goes.
        follow("Settings")
        shot("15-settings")
        click("Switch off…")
        shot("16-confirm-switch")
        click("Switch group roles off")
        assert "Done: switch group roles off" in browser.page_source
        follow("Audit log")
        assert "admin:ada@example.com" in browser.find_element(By.ID, "events").text
        shot("17-audit-log")
        follow("Webhooks")
        browser.find_element(By.ID, "webhook-url").send_keys("https://hooks.example/rolecall")
        browser.find_element(By.ID, "webhook-events").send_keys("access.*")
        click("Create webhook")
        assert browser.find_element(By.ID, "webhook-secret").text.startswith("whsec_")
        shot("17b-webhook")
        follow("Webhooks")
        assert "hooks.example" in browser.find_element(By.ID, "webhooks").text
        shot("17c-webhooks")
        # A phone-sized window: the bar wraps and wide tables scroll inside their cards.
        browser.set_window_size(420, 1400)
        navigated(lambda: browser.get(f"{base}/admin/projects/web/assets/bot"))
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 420, f"the page is {width} px wide in a 420 px window"
        shot("18-narrow-asset")
        browser.set_window_size(1280, 1400)

        click("Log out")
        assert browser.current_url.startswith(f"{base}/admin/login")
        assert "You are logged out" in browser.page_source
        shot("08-logged-out")
        browser.get(f"{base}/admin/directories")
        assert browser.current_url.startswith(f"{base}/admin/login")
