"""HTTP routes, grouped by purpose."""
