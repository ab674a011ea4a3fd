"""Executable checks: drift of generated files, guardrails, schema and live stack."""
