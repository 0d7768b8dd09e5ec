"""Sandboxes: an isolated, persistent Python worker per episode, behind one protocol."""
