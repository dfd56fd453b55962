"""What-if: replay a policy against recorded demand before applying it.

history -> recorded demand per VM and tick; replay -> the balancer model run
with the settings as they were and as a policy would set them; verdict ->
per-VM and per-host figures, the trust check and the answer; output ->
table, JSON and HTML. Nothing here contacts a host.
"""
