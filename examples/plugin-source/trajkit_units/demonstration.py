"""The units source's in-context example episode, shown to the teacher with ``--shots 1``.

Written for this package: a conversion the sample tasks do not ask, using the real tool
``conversion_factor`` by its real name. The first cell names a unit the tool does not know
and the next one recovers, so the teacher sees the protocol at work: ``<execute>``, the
``Observation:`` that comes back (exactly what trajkit's sandbox prints for these cells),
then the ``<solution>``. The tool is deterministic, so the episode replays in a sandbox with
the real tool to exactly these observations (``tests/plugins/test_example_plugin.py``).
"""

from __future__ import annotations

from trajkit.core.demonstration import Demonstration, DemoTurn

DEMONSTRATION = Demonstration(
    task="A bag of flour weighs 2.5 pounds. What is its mass in grams?",
    turns=(
        DemoTurn.execute(
            "I'll ask the tool for the pound-to-gram factor.",
            'factor = conversion_factor("pounds", "grams")\nprint(2.5 * factor)',
            (
                'RuntimeError                              Traceback (most recent call last)\n'
                'Cell In[1], line 1\n'
                '----> 1 factor = conversion_factor("pounds", "grams")\n'
                "RuntimeError: conversion_factor() failed: ValueError: unknown unit 'pounds'; "
                'known: second, minute, hour, day, metre, kilometre, mile, foot, gram, kilogram, '
                'pound\n'
            ),
        ),
        DemoTurn.execute(
            "The tool wants singular unit names.",
            'factor = conversion_factor("pound", "gram")\nprint(factor, 2.5 * factor)',
            '453.59237 1133.980925\n',
        ),
        DemoTurn.answer("2.5 pounds is 1133.980925 grams.", "1133.980925"),
    ),
)
