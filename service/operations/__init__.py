"""What operators run: status, re-queue and replay, retention, account links."""
