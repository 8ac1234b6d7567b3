"""The API's browsable docs work under the site's Content-Security-Policy (scripts and styles from
'self' only): Swagger UI is served from our own static files, and nothing is refused."""

from playwright.sync_api import expect


def test_the_docs_render_with_nothing_refused(page, transactional_db, screenshot):
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    response = page.goto("/api/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Remit integration API")).to_be_visible()
    expect(page.get_by_text("/api/payments/{payment_id}/refunds")).to_be_visible()
    page.get_by_text("/api/payments/{payment_id}/refunds").click()
    expect(page.get_by_text("Idempotency-Key").first).to_be_visible()
    screenshot("docs")
    assert refused == []
