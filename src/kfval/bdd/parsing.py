"""Feature files and tag expressions read as radish reads them, with every mistake named by its file and
line or by the word of the expression at fault, before a run touches the cluster.

radish 0.18 says "No feature or no scenario specified" for a misspelt `Scenario:`, gives a syntax error
without its file, and ends a tag expression such as `smoke and and` in `IndexError: pop from an empty
deque`; a tag no scenario carries selects nothing without a word. `kfval run` and `kfval lint` read
the features here first, so a QA engineer's slip gets a message that says where to fix it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import tagexpressions
from radish.core import Core
from radish.exceptions import FeatureFileSyntaxError
from radish.parser import FeatureParser
from radish.scenariooutline import ScenarioOutline

from kfval.kube.errors import SetupError

OPERATORS = ("and", "or", "not")
_TOKEN = re.compile(r"[\w-]+\([\w,]+\)|[()]|[^\s()]+")
"""A tag with arguments (`tag(a,b)`, one literal, as tagexpressions reads it), a parenthesis, or a word."""
_EXPRESSION_HELP = "join tags with and, or, not and parentheses, e.g. 'smoke and not slow'"
_KEYWORD_LINE = re.compile(r"^\s*([^\s:][^:]*):")
DOC_STRING = '"""'


def feature_files(paths: Iterable[Path]) -> list[Path]:
    """The .feature files of the given files and folders, as radish collects them."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise SetupError(f"{path} does not exist: name feature files or folders that hold them (default features)")
        found = sorted(path.rglob("*.feature")) if path.is_dir() else [path]
        if not found:
            raise SetupError(f"{path} holds no .feature file")
        files += found
    return files


def features(files: Sequence[Path], expression: Any = None) -> list[Any]:
    """radish's features of `files`, with only the scenarios `expression` selects (all when None).

    Raises SetupError at the first mistake, naming the file and line: a syntax error, a feature
    without a scenario (a misspelt keyword turns the rest into the feature's description), a Scenario
    Outline without Examples rows, a doc string that is never closed.
    """
    parsed = []
    for number, path in enumerate(files, start=1):
        parser = FeatureParser(Core(), str(path), number, expression)
        try:
            feature = parser.parse()
        except FeatureFileSyntaxError as error:
            raise SetupError(_syntax_message(path, parser, error)) from error
        if parser._current_state == FeatureParser.State.STEP_TEXT:  # radish reads to the end without a word
            raise SetupError(f"{path}:{_last_line(path, DOC_STRING)}: this doc string ({DOC_STRING}) is never closed")
        if feature is None and expression is None:
            raise SetupError(_no_scenario_message(path, parser))
        if feature is not None:
            _refuse_empty_outlines(path, feature)
            parsed.append(feature)
    return parsed


def tag_expression(text: str) -> Any:
    """radish's evaluable form of a `-t` expression; a malformed one raises SetupError naming the word."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        raise SetupError(f"the tag expression {text!r} is empty; {_EXPRESSION_HELP}")
    problem = _grammar_problem(tokens)
    if problem:
        raise SetupError(f"the tag expression {text!r} is not valid: {problem}; {_EXPRESSION_HELP}")
    return tagexpressions.parse(text)


def check_tags(text: str, files: Sequence[Path], *, every: Sequence[Any], selected: Sequence[Any]) -> None:
    """Refuse an expression that names a tag no scenario carries, or that selects no scenario at all.

    `every` holds the features of `files` as parsed without the expression, `selected` as parsed with it
    (radish's own selection).
    """
    carried = {tag for feature in every for tag in _tags(feature)}
    for tag in dict.fromkeys(token for token in _TOKEN.findall(text) if token not in (*OPERATORS, "(", ")")):
        if tag in carried:
            continue
        closest = difflib.get_close_matches(tag, carried, n=1)
        hint = f"did you mean {closest[0]!r}? " if closest else ""
        raise SetupError(
            f"the tag expression {text!r} names the tag {tag!r}, which no scenario of {_names(files)} carries; "
            f"{hint}the tags there: {', '.join(sorted(carried)) or 'none'}"
        )
    if not any(feature.scenarios for feature in selected):
        raise SetupError(f"the tag expression {text!r} selects no scenario of {_names(files)}")


def _grammar_problem(tokens: Sequence[str]) -> str | None:
    """The first word where the expression stops being `operand (and|or operand)*` with not and ()."""
    depth, after_operand, previous = 0, False, ""
    for index, token in enumerate(tokens, start=1):
        where = f"word {index} ({token!r})"
        if token.startswith("@"):
            return f"{where}: tags are written without @ in a tag expression; write {token[1:]!r}"
        if token in ("and", "or", ")"):
            if not after_operand:
                return f"{where} needs a tag before it" + (f", not {previous!r}" if previous else "")
            if token == ")":
                depth -= 1
                if depth < 0:
                    return f"{where} closes no '('"
            after_operand = token == ")"
        elif after_operand:
            return f"{where} follows {previous!r} with no and/or between them"
        elif token == "(":
            depth += 1
        elif token != "not":
            after_operand = True
        previous = token
    if not after_operand:
        return f"it ends with {previous!r}, where a tag is expected"
    return "a '(' is never closed" if depth else None


def _tags(feature: Any) -> Iterator[str]:
    """Every tag the feature and its scenarios carry, as tag expressions name them."""
    for item in (feature, *feature.scenarios):
        for tag in item.tags:
            yield tag.name if tag.arg is None else f"{tag.name}({tag.arg})"


def _names(files: Sequence[Path]) -> str:
    return ", ".join(str(path) for path in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")


def _syntax_message(path: Path, parser: FeatureParser, error: FeatureFileSyntaxError) -> str:
    """`file:line: what radish says: "the line"`; radish keeps the line it stopped at only privately."""
    reason = str(error).splitlines()[0]
    number = parser._current_line
    lines = path.read_text(encoding="utf-8").splitlines()
    if not 0 < number <= len(lines):
        return f"{path}: {reason}; a feature file starts with 'Feature:' (after tags and comments)"
    if reason.startswith("Syntax error in feature file"):
        reason = (
            "this line cannot stand here; a feature file starts with 'Feature:' (after tags and comments)"
            if parser.feature is None
            else "radish cannot read this line"
        )
    text = lines[number - 1].strip()
    return f"{path}:{number}: {reason}" if text in reason else f'{path}:{number}: {reason}: "{text}"'


def _no_scenario_message(path: Path, parser: FeatureParser) -> str:
    """A feature without scenarios: point at a line radish took for description that looks like a keyword."""
    keywords = parser.keywords
    known = (keywords.scenario, keywords.scenario_outline, keywords.scenario_loop, keywords.background)
    message = f"{path}:{parser.feature.line}: the feature has no scenario; each starts with '{keywords.scenario}:'"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _KEYWORD_LINE.match(line)
        if number <= parser.feature.line or not match:
            continue
        closest = difflib.get_close_matches(match.group(1), known, n=1, cutoff=0.6)
        if closest:
            return f"{message}, and line {number} reads {line.strip()!r}: did you mean '{closest[0]}:'?"
    return message


def _refuse_empty_outlines(path: Path, feature: Any) -> None:
    for scenario in feature.scenarios:
        if isinstance(scenario, ScenarioOutline) and not scenario.examples:
            raise SetupError(
                f'{path}:{scenario.line}: Scenario Outline "{scenario.sentence}" has no Examples rows, '
                "so it would run nothing"
            )


def _last_line(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return max(number for number, line in enumerate(lines, start=1) if text in line)
