"""Data side of training: the on-disk dataset format, building and loading it."""
