"""The HTTP intake gateway: channel webhooks, case lookup, Open311 GeoReport v2.

`consumers.gateway.app.create_app` wires everything (settings, security, publisher, read model,
attachment store); nothing is built at import time.
"""
