"""The operator console at /console: the pipeline at a glance, one message or user followed
step by step, and the re-queue and replay of failures, as pages served by `ingest web`.

Off (404) unless CONSOLE_PASSWORD is set; `ingest dev` makes one up. Its pages read through
`service.store.console`; its actions are the operations' own code (`service.operations`,
`service.webhooks.forward`), each logged with the operator who asked.
"""
