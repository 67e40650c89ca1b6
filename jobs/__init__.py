"""RQ jobs: module-level functions that take ids and JSON primitives and fetch fresh data themselves."""
