"""End-to-end tests: the app, real worker processes and the Graph API sandbox."""
