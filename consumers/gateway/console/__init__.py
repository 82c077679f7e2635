"""The case workers' console (``/console/``) and the public tracking page (``/lacak/``):
server-rendered pages (Jinja2 + htmx) on the gateway's credentials, views and command path."""
