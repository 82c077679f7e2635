"""aduan's pure workflow core: message schemas, the Case aggregate, decide/evolve, SLA policy.

Imports no Kafka, metrics, HTTP or SMTP code (tests/unit/test_purity.py enforces it). Nothing is
built at import time; the shell wires a `workflow.core.Workflow` from a `workflow.policy.Policy`.
"""
