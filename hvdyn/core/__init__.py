"""Foundations every stage shares.

`errors` (error types, exit codes), `model` (the domain records), `vocab`
(the words stages pass each other), `findings` (declared rules and what they
find), `sizes` (Hyper-V's rules for memory sizes), `balancer` (the Dynamic
Memory balancer model), `fileio` (safe file writes), `yamlpos` (YAML with
positions). Imports nothing else from hvdyn.
"""
