"""Output writers: plan/apply results, audit (table, JUnit, Prometheus textfile, HTML),
the report page and its SVG charts, recommend's advice."""
