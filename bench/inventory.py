"""Inventory resolution: the built-in reader on a large YAML inventory, and the Ansible mode.

    python -m bench.inventory [--hosts 20000] [--repeat 5]

Times `load_inventory` + `select_hosts` (CPU seconds; min and median over the
repeats) for a generated inventory of N hosts (ranges, group_vars/, host_vars/
for some hosts, a --limit slice), and, when ansible-core is installed, the same
source read through `ansible-inventory` (wall seconds: two subprocesses).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench._util import machine, peak_rss_mb, result_line
from hvdyn.inventory import (
    AnsibleOptions,
    ReaderOptions,
    find_ansible_inventory,
    load_inventory,
    select_hosts,
)


def write_inventory(base: Path, hosts: int) -> Path:
    per_group = max(1, hosts // 10)
    lines = ["all:", "  vars: {ansible_connection: winrm, ansible_winrm_transport: ntlm}",
             "  children:"]
    for g in range(10):
        lines += [f"    site{g}:", "      hosts:",
                  f"        hv{g}-[00000:{per_group - 1:05d}].corp.example:"]
    (base / "group_vars").mkdir()
    (base / "group_vars" / "all.yml").write_text("ansible_user: CORP\\hvadmin\n")
    (base / "host_vars").mkdir()
    for i in range(0, per_group, max(1, per_group // 50)):
        (base / "host_vars" / f"hv0-{i:05d}.corp.example.yml").write_text("ansible_port: 5985\n")
    path = base / "hosts.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def timed(path: Path, options: ReaderOptions, repeat: int, cpu: bool) -> list[float]:
    runs = []
    for _ in range(repeat):
        start = time.process_time() if cpu else time.perf_counter()
        hosts = select_hosts(load_inventory(path, options), "site3[0:99],site5")
        runs.append((time.process_time() if cpu else time.perf_counter()) - start)
        assert len(hosts) > 100
    return runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_inventory(Path(tmp), args.hosts)
        builtin = timed(path, ReaderOptions(reader="builtin"), args.repeat, cpu=True)
        print(f"machine: {machine()}")
        print(f"built-in reader, {args.hosts} hosts: CPU min {min(builtin):.2f} s, "
              f"median {statistics.median(builtin):.2f} s; peak RSS {peak_rss_mb():.0f} MB")
        values: dict[str, object] = {"hosts": args.hosts, "builtin_cpu_min_s": min(builtin),
                                     "builtin_cpu_median_s": statistics.median(builtin)}
        if find_ansible_inventory(AnsibleOptions()):
            ansible = timed(path, ReaderOptions(reader="ansible"), min(args.repeat, 3), cpu=False)
            print(f"ansible-inventory mode: wall min {min(ansible):.2f} s, "
                  f"median {statistics.median(ansible):.2f} s")
            values.update(ansible_wall_min_s=min(ansible),
                          ansible_wall_median_s=statistics.median(ansible))
    print(result_line(**values))


if __name__ == "__main__":
    main()
