"""The engine worker: faust app, case agent, event relay, SLA timer, clocks and case records."""
