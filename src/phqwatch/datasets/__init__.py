"""Datasets: adapters for public proxy sets, user-grouped splits, and synthetic example data."""
