"""`kfval lint`: what a QA engineer's edit broke, found in a second and without a cluster.

Every step sentence of the features must resolve to exactly one step definition, matching it whole
(radish itself would run the closest partial match, or the first of two), and every manifest the
steps name (a `.yaml` string in a step module, or a step argument) must exist and parse, with each
`${variable}` standing for a value, so a YAML slip is found before a run reaches the step.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parse_type.cfparse import Parser
from radish.customtyperegistry import CustomTypeRegistry
from radish.loader import load_modules
from radish.stepregistry import StepRegistry

from kfval.bdd import gherkin, parsing
from kfval.kube import errors, manifests

MANIFEST_SUFFIXES = (".yaml", ".yml")
PLACEHOLDER = "kfval-lint"
"""What every `${variable}` stands for while a manifest is only parsed: a plain word, valid YAML anywhere."""
CLOSEST_STEPS = 3
CLOSEST_CUTOFF = 0.6
_ARGUMENT = re.compile(r'\{[^}]*\}|\([^)]*\)|"[^"]*"|\b\d+(?:\.\d+)?\b')
"""What stands for an argument in a pattern (`{name:QuotedString}`, a regex group) or a sentence
(`"mnist"`, `2`)."""


@dataclass(frozen=True)
class Problem:
    """One thing to fix, where to fix it."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Findings:
    sentences: int
    manifests: int
    problems: tuple[Problem, ...]
    steps_used: frozenset[str]
    """The step functions the sentences resolve to, by name."""


class _AnyVariable(Mapping[str, str]):
    """Variables as the lint sees them: every name is defined, as a step or radish.ini would define it."""

    def __getitem__(self, key: str) -> str:
        return PLACEHOLDER

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def lint(features: Sequence[Path], *, steps_dir: Path, manifests_dir: Path, tags: str | None = None) -> Findings:
    """Check the features (the scenarios the tag expression `tags` selects, all without one) against the
    step definitions of `steps_dir` and the manifests they name.

    A feature file that does not parse, or a tag expression that is malformed, names a tag no scenario
    carries or selects nothing, raises SetupError: nothing else can be checked then. The step registry
    is radish's process-wide one: it is emptied first, so only `steps_dir` counts.
    """
    files = parsing.feature_files(features)
    every = parsing.features(files)
    selected = every
    if tags is not None:
        selected = parsing.features(files, parsing.tag_expression(tags))
        parsing.check_tags(tags, files, every=every, selected=selected)
    StepRegistry().clear()
    load_modules(str(steps_dir))
    patterns = StepRegistry().steps
    problems: list[Problem] = []
    named: dict[str, str] = {}
    used: set[str] = set()
    sentences = 0
    for step in _feature_steps(selected):
        sentences += 1
        where = f"{step.path}:{step.line}"
        problem, arguments, function = _resolve(step.context_sensitive_sentence, patterns)
        if problem:
            problems.append(Problem(where, f'"{step.sentence}" {problem}'))
        if function:
            used.add(function)
        for value in arguments:
            if value.endswith(MANIFEST_SUFFIXES):
                named.setdefault(value, where)
    for module in sorted(steps_dir.glob("*.py")):
        for name, line in _manifest_literals(module):
            named.setdefault(name, f"{module}:{line}")
    for name, where in sorted(named.items()):
        problems += _manifest_problems(name, where, manifests_dir)
    return Findings(sentences, len(named), tuple(problems), frozenset(used))


def _feature_steps(features: Sequence[Any]) -> Iterator[Any]:
    for feature in features:
        for scenario in feature.scenarios:
            for each in getattr(scenario, "scenarios", None) or [scenario]:
                yield from each.all_steps


def _resolve(sentence: str, patterns: Mapping[Any, Any]) -> tuple[str | None, list[str], str | None]:
    """Why `sentence` does not resolve to exactly one step (None when it does), its string arguments and
    the name of the step function it resolves to.

    `@given`/`@when`/`@then` patterns carry their keyword, `@step` patterns do not: both forms of the
    sentence are tried whole.
    """
    forms = (sentence, gherkin.split_keyword(sentence)[1])
    whole: list[tuple[Any, list[Any]]] = []
    partial: list[Any] = []
    for pattern, function in patterns.items():
        arguments = next((found for form in forms if (found := _whole(pattern, form)) is not None), None)
        if arguments is not None:
            whole.append((function, arguments))
        elif _anywhere(pattern, sentence):
            partial.append(function)
    if len(whole) == 1:
        function, arguments = whole[0]
        return None, [str(value).strip('"') for value in arguments if isinstance(value, str)], function.__name__
    if len(whole) > 1:
        return f"matches {len(whole)} steps: {', '.join(_located(function) for function, _ in whole)}", [], None
    if partial:
        return f"matches no step whole, only part of {', '.join(_located(f) for f in partial)}", [], None
    closest = _closest(forms[1], patterns)
    return (
        "matches no step: add one to steps/ or reword it as an existing step says it"
        + (f"; closest: {'; '.join(closest)}" if closest else ""),
        [],
        None,
    )


def _closest(sentence: str, patterns: Mapping[Any, Any]) -> list[str]:
    """The step patterns most like the sentence, with their places: arguments count as one word each,
    so `"mnist"` and `{name:QuotedString}` compare equal."""
    shapes = {_shape(_text(pattern)): pattern for pattern in patterns}
    found = difflib.get_close_matches(_shape(sentence), shapes, n=CLOSEST_STEPS, cutoff=CLOSEST_CUTOFF)
    return [f'"{_text(shapes[shape])}" ({_place(patterns[shapes[shape]])})' for shape in found]


def _text(pattern: Any) -> str:
    """A step pattern as its module writes it (a parse pattern, or a regex's source)."""
    return str(getattr(pattern, "pattern", pattern))


def _shape(text: str) -> str:
    return _ARGUMENT.sub("_", text.strip("^$")).lower()


def _whole(pattern: Any, sentence: str) -> list[Any] | None:
    """The pattern's arguments when it matches the whole sentence, else None."""
    if not isinstance(pattern, str):
        match = pattern.fullmatch(sentence)
        return list(match.groups()) if match else None
    result = Parser(pattern, CustomTypeRegistry().custom_types).parse(sentence)
    return None if result is None else [*result.fixed, *result.named.values()]


def _anywhere(pattern: Any, sentence: str) -> bool:
    """Whether radish's own search would match the pattern somewhere in the sentence."""
    if not isinstance(pattern, str):
        return pattern.search(sentence) is not None
    return Parser(pattern, CustomTypeRegistry().custom_types).search(sentence) is not None


def _located(function: Any) -> str:
    return f"{function.__name__} ({_place(function)})"


def _place(function: Any) -> str:
    code = function.__code__
    return f"{Path(code.co_filename).name}:{code.co_firstlineno}"


def _manifest_literals(module: Path) -> Iterator[tuple[str, int]]:
    """The `.yaml` file names a step module writes as strings (`_submit(step, "tfjob.yaml", ...)`)."""
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith(MANIFEST_SUFFIXES):
            yield node.value, node.lineno


def _manifest_problems(name: str, where: str, manifests_dir: Path) -> list[Problem]:
    path = Path(name) if "/" in name else manifests_dir / name
    if not path.exists():
        return [
            Problem(
                where,
                f"manifest {path} does not exist: name a file of {manifests_dir}/, or a path from the project "
                "folder (one with a / in it)",
            )
        ]
    try:
        manifests.load(path, _AnyVariable())
    except errors.ManifestError as error:
        return [Problem(where, f"manifest {name} does not parse: {error}")]
    return []
