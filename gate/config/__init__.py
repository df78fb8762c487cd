"""Loading and validating gate's inputs: YAML/JSON with line numbers, JSON Schema, typed records."""
