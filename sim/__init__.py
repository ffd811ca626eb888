"""Trace-driven cache and prefetch simulator with a C core."""
