"""Tests of the Gemini wire family adapter."""
