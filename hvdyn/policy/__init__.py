"""The policy: sizing rules read from YAML.

`load` reads a file into a `Policy`; `schema` holds the typed, checked records
(their fixed words, such as `Restart`, are in `hvdyn.core.vocab`); `errors`
locates every mistake at FILE:LINE:COL; `match` compiles `match`/`exclude`;
`evaluate` holds the `Policy` and its `Resolution` for one VM.
"""
