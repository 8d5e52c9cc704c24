"""Canonical types, the one error tree, ids and units: the bottom layer every package may import."""
