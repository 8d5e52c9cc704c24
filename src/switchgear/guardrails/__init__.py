"""Guardrails: checks on what goes to a provider and what comes back (PII, prompt injection,
content rules, an operator's webhook), configured as named policies and run as one stage."""
