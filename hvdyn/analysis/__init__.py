"""Judging what was recorded.

Audit findings and right-sizing recommendations.
"""
