"""PowerShell 2.0 generation and the records scripts print.

The one quoting path, the Jinja templates, the parameters each template
takes, and the HVDYN1 record stream parser.
"""
