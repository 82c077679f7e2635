"""describe_validation_error: one line naming the field and the rule, never the input."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from workflow.validation import describe_validation_error, error_location


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    secret: str = ""

    @field_validator("secret")
    @classmethod
    def _short(cls, v: str) -> str:
        if len(v) > 3:
            raise ValueError("must be at most 3 characters\n(policy)")
        return v


class Book(BaseModel):
    entries: list[Entry]


def error_of(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        Book.model_validate(data)
    return info.value


def test_every_problem_on_one_line_without_the_input() -> None:
    exc = error_of({"entries": [{"code": "A"}, {"secret": "hunter2", "extra": 1}]})
    line = describe_validation_error(exc)
    assert line == (
        "entries.1.code: missing required field; "
        "entries.1.secret: must be at most 3 characters (policy); "
        "entries.1.extra: unknown field (not allowed by the schema)"
    )
    assert "hunter2" not in line


def test_first_only_counts_the_others_and_brackets_indexes() -> None:
    exc = error_of({"entries": [{"secret": "hunter2", "extra": 1}]})
    line = describe_validation_error(exc, first_only=True, brackets=True)
    assert line == "entries[0].code: missing required field (and 2 more problems)"
    one = error_of({"entries": [{"code": "A", "extra": 1}]})
    assert describe_validation_error(one, first_only=True).endswith("schema)")


def test_root_names_an_error_of_the_whole_object_and_explain_words_it() -> None:
    exc = error_of([1])
    assert describe_validation_error(exc).startswith("<message>: ")
    assert describe_validation_error(exc, root="").startswith("Input should be")
    worded = describe_validation_error(exc, root="book", explain=lambda e: f"got {e['input']}")
    assert worded == "book: got [1]"


def test_error_location_styles() -> None:
    assert error_location(("agencies", 3, "tz")) == "agencies.3.tz"
    assert error_location(("agencies", 3, "tz"), brackets=True) == "agencies[3].tz"
    assert error_location((0, "a"), brackets=True) == "[0].a"
