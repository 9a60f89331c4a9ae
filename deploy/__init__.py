"""Build steps for the deployment artifacts (run from the repository root)."""
