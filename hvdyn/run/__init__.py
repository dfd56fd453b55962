"""Running scripts on hosts.

Fan-out, discovery, apply with its journal, verification, collect, ping and
probe: the stage that does I/O.
"""
