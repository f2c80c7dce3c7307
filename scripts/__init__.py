"""Build-time tools (gazetteer, corpus checks, datasheet); importable so tests reuse them."""
