"""Collection: teachers, the CodeAct loop, sandboxes and the runner."""
