"""Pure planning: desired settings against discovered facts.

The checks that guard a change and the plan itself. No I/O.
"""
