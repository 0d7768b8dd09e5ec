"""Action formats: how a teacher acts (``--action-format code|tools|json|text``).

One format is one object (``base.ActionFormat``): the system prompt's protocol section, the
stop sequences, whether function schemas go to the teacher, how a turn becomes calls and how
their results go back. The loop plays every format the same way; formats are found through
the registry (``trajkit.action_formats``), so a user's package adds its own as we add ours.
"""
