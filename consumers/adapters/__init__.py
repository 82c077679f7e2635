"""Channel adapters: provider payloads -> `workflow.intake.ComplaintSubmitted`.

Pure functions (no I/O apart from the attachment store they are handed): each takes the
provider's payload and ``now`` and returns complaints, or raises `AdapterError` with a closed
``reason`` and a detail that names the field (never the reporter's data).
"""
