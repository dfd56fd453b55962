"""The policy: sizing rules read from YAML.

`load` reads and locates; `schema` holds the typed, checked records.
"""
