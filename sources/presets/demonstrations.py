"""The in-context demonstrations (``--shots 1``) of the GSM8K, MBPP and HumanEval presets, each a
problem written for trajkit (not taken from the benchmark).

Each is made by a function taking the preset's own prompt builder, so the example task reads
exactly as the preset phrases its tasks (the builders live in the preset modules, which import
this one).
"""

from __future__ import annotations

from collections.abc import Callable

from trajkit.core.demonstration import Demonstration, DemoTurn


def gsm8k(prompt: Callable[[str], str]) -> Demonstration:
    """GSM8K's: a word problem whose first cell joins a string with an int."""
    question = (
        "A bakery packs muffins in boxes of 6. On Monday it baked 158 muffins and sold 21 full "
        "boxes. How many muffins were left?"
    )
    return Demonstration(task=prompt(question), turns=_GSM8K_TURNS)


_GSM8K_TURNS = (
    DemoTurn.execute(
        "21 boxes of 6 were sold; the rest of the 158 muffins are left.",
        """
baked = 158
sold = 21 * 6
left = baked - sold
print("Left: " + left)
""",
        (
            'TypeError                                 Traceback (most recent call last)\n'
            'Cell In[1], line 4\n'
            '----> 4 print("Left: " + left)\n'
            'TypeError: can only concatenate str (not "int") to str\n'
        ),
    ),
    DemoTurn.execute(
        "A string cannot be joined with an int; I'll format the number instead.",
        'print(f"Sold {sold}, left {left}")',
        'Sold 126, left 32\n',
    ),
    DemoTurn.answer("158 - 126 = 32 muffins were left.", "32"),
)


def mbpp(prompt: Callable[[str, list[str], float], str]) -> Demonstration:
    """MBPP's: a function whose first version counts into a dict without defaults."""
    text = "Write a function to count the vowels in a string, ignoring case."
    return Demonstration(task=prompt(text, _MBPP_TESTS, 4.0), turns=_MBPP_TURNS)


_MBPP_TESTS = [
    'assert count_vowels("Programming") == 3',
    'assert count_vowels("AEIOU xyz") == 5',
    'assert count_vowels("") == 0',
]

_COUNT_VOWELS = '''
def count_vowels(text):
    return sum(1 for ch in text.lower() if ch in "aeiou")
'''

_MBPP_TURNS = (
    DemoTurn.execute(
        "I'll count each vowel in a dict and add the counts up, then try the test's input.",
        """
def count_vowels(text):
    counts = {}
    for ch in text.lower():
        if ch in "aeiou":
            counts[ch] += 1
    return sum(counts.values())

print(count_vowels("Programming"))
""",
        (
            'KeyError                                  Traceback (most recent call last)\n'
            'Cell In[1], line 8\n'
            '----> 8 print(count_vowels("Programming"))\n'
            'Cell In[1], line 5\n'
            '----> 5 counts[ch] += 1\n'
            "KeyError: 'o'\n"
        ),
    ),
    DemoTurn.execute(
        "The dict has no entry for a vowel's first occurrence. Counting directly is simpler.",
        _COUNT_VOWELS + """
assert count_vowels("Programming") == 3
print(count_vowels("Programming"), count_vowels("AEIOU xyz"), count_vowels(""))
""",
        '3 5 0\n',
    ),
    DemoTurn.answer("The test passes and the other inputs count right.", _COUNT_VOWELS),
)


def humaneval(prompt: Callable[[str, str, float], str]) -> Demonstration:
    """HumanEval's: a stub whose first completion fails on the empty list."""
    return Demonstration(task=prompt(_STUB, "running_max", 4.0), turns=_HUMANEVAL_TURNS)


_STUB = '''\
def running_max(numbers: list) -> list:
    """Return a list whose i-th element is the largest of numbers[0], ..., numbers[i].
    >>> running_max([3, 1, 4, 1, 5])
    [3, 3, 4, 4, 5]
    >>> running_max([])
    []
    """
'''

_RUNNING_MAX = '''
def running_max(numbers: list) -> list:
    result = []
    for x in numbers:
        result.append(x if not result else max(result[-1], x))
    return result
'''

_HUMANEVAL_TURNS = (
    DemoTurn.execute(
        "I'll keep the largest value so far, starting from the first element, and try the "
        "docstring's examples.",
        """
def running_max(numbers: list) -> list:
    result = [numbers[0]]
    for x in numbers[1:]:
        result.append(max(result[-1], x))
    return result

print(running_max([3, 1, 4, 1, 5]))
print(running_max([]))
""",
        (
            '[3, 3, 4, 4, 5]\n'
            'IndexError                                Traceback (most recent call last)\n'
            'Cell In[1], line 8\n'
            '----> 8 print(running_max([]))\n'
            'Cell In[1], line 2\n'
            '----> 2 result = [numbers[0]]\n'
            'IndexError: list index out of range\n'
        ),
    ),
    DemoTurn.execute(
        "An empty list has no first element. I'll start from an empty result instead.",
        _RUNNING_MAX + """
print(running_max([3, 1, 4, 1, 5]), running_max([]))
""",
        '[3, 3, 4, 4, 5] []\n',
    ),
    DemoTurn.answer("Both examples match.", _RUNNING_MAX),
)
