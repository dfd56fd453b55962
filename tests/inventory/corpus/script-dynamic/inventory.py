#!/usr/bin/env python3
"""A dynamic inventory script, as a CMDB export would be."""
import json
import sys

if "--host" in sys.argv:
    print("{}")
else:
    print(json.dumps({
        "hyperv": {"hosts": ["hv01", "hv02"],
                   "vars": {"ansible_connection": "psrp", "ansible_user": "CORP\\hv"}},
        "sql": {"hosts": ["hv02"]},
        "_meta": {"hostvars": {"hv02": {"ansible_psrp_auth": "ntlm", "ansible_port": 5985}}},
    }))
