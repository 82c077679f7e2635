"""The notifier: escalation officers get SLA warnings, escalations and reminders automatically.

A separate process (``aduan notifier``) with its own consumer group on ``cases.events``. Its rooms:
`consumers.notifier.service` wires them and runs the loop (and states the delivery guarantee),
`consumers.notifier.runner` starts it, `consumers.notifier.settings` its settings and topics,
`consumers.notifier.clients` the Kafka clients (built by an injectable factory),
`consumers.notifier.side_topics` the receipts and snapshots it follows,
`consumers.notifier.handler` one event to alerts, `consumers.notifier.receipts` what was handled,
`consumers.notifier.pending` what is not delivered yet, `consumers.notifier.dispatch` one letter's
attempt and outcome, `consumers.notifier.retrier` the retries of pending letters,
`consumers.notifier.outbox` what it writes, `consumers.notifier.digest_runner` the daily digest
(`consumers.notifier.digest` its pieces), `consumers.notifier.directory` the officer directory
format, `consumers.notifier.alerts` what is alerted and its text, `consumers.notifier.texts` the
words (YAML per language), `consumers.notifier.delivery` one attempt and its verdict, and
`consumers.notifier.sink` the local SMTP sink that ``make run`` delivers to.
"""
