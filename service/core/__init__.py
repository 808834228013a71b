"""Process plumbing: settings, logs, the database pool, the runtime, jobs, metrics, errors,
migrations."""
