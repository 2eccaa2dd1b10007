"""Peer implementations of the benchmark training step (see bench/README.md)."""
