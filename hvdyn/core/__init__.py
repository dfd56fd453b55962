"""Foundations every stage shares.

Error types, the domain records, the balancer model, safe file writes and
positioned YAML. Imports nothing else from hvdyn.
"""
