"""The worker process: procrastinate tasks that call the service code."""
