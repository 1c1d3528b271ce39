"""Sharded indexes: N ordinary indexes searched as one, in process or on Dask (issue 16)."""
