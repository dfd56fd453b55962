"""The policy: sizing rules read from YAML.

`load` reads a file into a `Policy`; `schema` holds the typed, checked records
and `vocab` the fixed words; `errors` locates every mistake at FILE:LINE:COL;
`match` compiles `match`/`exclude`; `evaluate` holds the `Policy` and its
`Resolution` for one VM.
"""
