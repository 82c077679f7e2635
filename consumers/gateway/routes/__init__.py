"""The gateway's route groups, one module each: intake channels, cases, Open311, health."""
