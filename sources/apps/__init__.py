"""APPS: programming problems graded by their unit tests inside the sandbox."""
