"""Every step function the features use is listed in tests/step-matches.yml, and every sentence
resolves to exactly one step (`kfval lint`'s check, run here in-process).

`radish-test matches` (run by `make test`) checks the listed sentences against the expected step
functions and arguments; this test makes sure no step the features use is missing from that list.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from kfval.bdd import linting


def test_every_sentence_resolves_and_every_step_used_is_in_the_match_config() -> None:
    findings = linting.lint([Path("features")], steps_dir=Path("steps"), manifests_dir=Path("manifests"))
    assert findings.problems == (), "\n".join(map(str, findings.problems))
    listed = {item["should_match"] for item in yaml.safe_load(Path("tests/step-matches.yml").read_text())}
    assert findings.steps_used <= listed, (
        f"add these steps to tests/step-matches.yml: {sorted(findings.steps_used - listed)}"
    )


def test_step_functions_have_names_of_their_own() -> None:
    """tests/step-matches.yml names steps by function: two of one name would cover each other."""
    from radish.stepregistry import StepRegistry  # the registry lint just filled

    linting.lint([Path("features")], steps_dir=Path("steps"), manifests_dir=Path("manifests"))
    names = [function.__name__ for function in StepRegistry().steps.values()]
    assert sorted({n for n in names if names.count(n) > 1}) == []
