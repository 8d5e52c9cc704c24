"""Test doubles that run for real: the simulated providers and an in-process gateway, over sockets."""
