"""Benchmarks of kickserv-graph: upstream calls against the minimum, latency, throughput, memory.

Run ``python -m bench`` (or ``kickserv-graph bench``); see bench/README.md for what is measured and why.
"""
