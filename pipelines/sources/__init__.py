"""Downloading, storing and unpacking the raw files published by data sources."""
