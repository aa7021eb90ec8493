"""Correlation statistics, plots, tables and the report (reads the store; never imports Ray)."""
