"""The notifier: escalation officers get SLA warnings, escalations and reminders automatically.

A separate process (``aduan notifier``) with its own consumer group on ``cases.events``. See
`consumers.notifier.service` for the loop and its delivery guarantee, `consumers.notifier.directory`
for the officer directory format, `consumers.notifier.alerts` for what is alerted and the words,
`consumers.notifier.delivery` for retries, and `consumers.notifier.sink` for the local SMTP sink
that ``make run`` delivers to.
"""
