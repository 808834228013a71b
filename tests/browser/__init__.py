"""Browser tests: the operator console in headless Chromium (Playwright)."""
