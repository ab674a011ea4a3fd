"""Layer 4: executable checks of the rendered artifacts, the schema and the live stack.

Static checks take `(facts, rendered)` and return Findings; `registry.CHECKS`
lists them explicitly. Live checks (`checks.stack`) start or reach a stack.
"""
