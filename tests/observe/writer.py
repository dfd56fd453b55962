"""Child process for the killed-writer test: collect in a loop, announce each commit.

Usage: python writer.py STATE_DIR INVENTORY. Prints "committed N SAMPLES" after
each batch is committed; the parent kills it with SIGKILL at some point.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hvdyn.cli.context import load_hosts, transport_factory
from hvdyn.history import open_store
from hvdyn.run.collect import Collector


def main() -> None:
    state, inventory = Path(sys.argv[1]), Path(sys.argv[2])
    hosts = load_hosts(inventory, "hv-obs-02")
    store = open_store(state)
    collector = Collector(store, transport_factory(state), samples=5, interval_s=60)
    total = 0
    for batch in range(1, 100000):
        results = collector.run(hosts, 1)
        total += sum(r.samples for r in results)
        print(f"committed {batch} {total}", flush=True)


if __name__ == "__main__":
    main()
