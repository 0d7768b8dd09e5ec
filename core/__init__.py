"""The shared core: the vocabulary every stage speaks, below all of them.

Errors (``errors``), the plugin registry (``registry``), the sandbox and tool protocols
(``sandbox``, ``tools``), action parsing (``actions``), the failed-action rule both the loop
and the filters use (``self_correction``), token counters (``tokenizers``) and JSONL reading
(``jsonl``). It imports only ``trajkit.schemas``, so any stage can use it without the stages
importing each other.
"""
