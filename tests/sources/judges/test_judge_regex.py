"""``regex:PATTERN``: the whole stripped answer matches; hostile answers cannot stall a run."""

from __future__ import annotations

import pytest
from judges_helpers import HOSTILE, task, verdict

from trajkit.core.errors import ConfigError
from trajkit.sources.judges import make_judge

# (pattern, answer, success)
TABLE: list[tuple[str, str, bool]] = [
    (r"\d+", "42", True),
    (r"\d+", "  42\n", True),  # stripped first
    (r"\d+", "42 apples", False),  # the whole answer must match
    (r".*\b42\b.*", "it is 42 apples", True),
    (r"(?i)yes|no", "YES", True),
    (r"yes|no", "YES", False),
    (r"a.b", "a\nb", False),
    (r"(?s)a.b", "a\nb", True),
    (r"^\d{4}-\d{2}-\d{2}$", "2024-02-29", True),
    (r"[^\x00]+", "ok\x00", False),  # a NUL is a character like any other
    (r"\w+", "\ud800", False),
]


@pytest.mark.parametrize(("pattern", "answer", "success"), TABLE)
async def test_regex_table(pattern: str, answer: str, success: bool) -> None:
    result = await verdict(f"regex:{pattern}", None, answer)
    assert result.success is success


async def test_the_gold_is_not_used() -> None:
    assert (await verdict(r"regex:\d+", "not a number", "7")).success


async def test_catastrophic_backtracking_ends_as_a_failed_verdict() -> None:
    # (a|aa)+b on forty-odd a's takes exponential time in a backtracking engine; the match
    # runs with a time limit and the verdict says why it failed.
    result = await verdict("regex:(a|aa)+b", None, "a" * 60, options={"timeout": "0.2"})
    assert not result.success
    assert result.details["error"] == "the pattern took longer than 0.2 s on this answer"


async def test_answers_longer_than_max_chars_are_refused_unread() -> None:
    result = await verdict("regex:.*", None, "x" * 11, options={"max_chars": "10"})
    assert not result.success
    assert result.details["error"] == "answer of 11 characters (max_chars=10)"
    assert (await verdict("regex:.*", None, "x" * 10, options={"max_chars": "10"})).success


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_answers_end_in_verdicts(name: str) -> None:
    result = await verdict(r"regex:\d", None, HOSTILE[name])
    assert not result.success
    if name in ("empty", "blank", "1 MB"):
        assert "error" in result.details


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("regex", "the pattern is missing (write judge=regex:PATTERN)"),
        ("regex:", "the pattern is missing"),
        ("regex>=3", "the pattern is missing"),
        ("regex:(unclosed", "not a regular expression (missing )"),
        ("regex:*", "not a regular expression (nothing to repeat"),
    ],
)
def test_bad_patterns_are_one_line_config_errors(spec: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_judge(spec)
    message = str(info.value)
    assert message.startswith(f"--source-opt judge={spec}: {why}") and "\n" not in message


@pytest.mark.parametrize(
    ("options", "key"), [({"timeout": "0"}, "timeout"), ({"max_chars": "-1"}, "max_chars")]
)
def test_option_errors(options: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=f"--source-opt {key}="):
        make_judge(r"regex:\d", options)


async def test_summary() -> None:
    judge = make_judge(r"regex:\d+")
    ok = await judge.judge(task(None), "12")
    assert type(judge).summary(task(None), ok) == r"regex \d+: matches"
    no = await judge.judge(task(None), "x")
    assert type(judge).summary(task(None), no) == r"regex \d+: no match"
