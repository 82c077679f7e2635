"""The complaint lifecycle declared as data: states, transition table, guards, checks, diagrams."""
