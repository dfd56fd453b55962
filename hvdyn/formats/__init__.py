"""Output writers for audit and report: JUnit, Prometheus textfile, HTML, SVG charts."""
