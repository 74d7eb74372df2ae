"""The load harness of issue #7 (`make load`): see bench/load/harness.py and bench/README.md, "Load"."""
