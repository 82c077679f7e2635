"""The chaos run (``python -m chaos``, ``make chaos``) and Kafka fuzzing (issue 12).

A seeded run against its own broker: real engine workers, a continuous stream of mixed traffic with
duplicates, late redeliveries and commands that overtake their intake, SIGKILLs of workers and of
the broker, and a simulated clock that keeps SLA timers firing. Every result is checked against an
oracle: the pure core applied to each case's messages as they were written to the topics.

Everything this package needs from the project comes through :mod:`chaos.seam`, so a change of the
project's module layout touches one file here.
"""
