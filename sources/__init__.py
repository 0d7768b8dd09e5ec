"""Sources: one adapter per benchmark (data formats, prompt, tools, judge)."""
