"""Collection: teachers, the CodeAct loop, sandboxes, executors and the runner.

``import trajkit`` makes this package callable: ``trajkit.collect(source, teacher, ...)`` runs
a collection (``trajkit.api.collecting.collect``); its modules import as usual.
"""
