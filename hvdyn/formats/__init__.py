"""Output writers: plan/apply results, audit (table, JUnit, Prometheus textfile, HTML),
the report page and its SVG charts, recommend's advice, systemd units and
cron lines (`schedule_units`), render's output directory (`render_dir`), stored
samples as CSV, JSON or JSON lines (`samples_export`)."""
