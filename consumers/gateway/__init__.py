"""The HTTP intake gateway: channel webhooks, case lookup, Open311 GeoReport v2.

`consumers.gateway.app.create_app` wires everything (settings, security, publisher, read model,
attachment store); nothing is built at import time. The rooms: ``context`` (the `Gateway` the
routes share), ``auth`` (API keys and operator tokens), ``routes/`` (one module per route group:
intake, cases, open311, health), ``views`` (what each audience may see of a case), ``smtp`` (the
SMTP intake listener). Provider payloads become complaints in `consumers.adapters`.
"""
