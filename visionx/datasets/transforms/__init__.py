"""Transforms shared by several methods (method-specific ones live with their dataset)."""
