"""Inbound codecs: checking and decoding each client-facing API's requests."""
