"""kfval as a stage of a Kubeflow Pipelines run (kfp 2.x SDK), as the original validation ran.

The stage runs the runner image (deploy/runner/Dockerfile) in the cluster under test, in-cluster as
the run's service account: submit the run with the ServiceAccount that `kfval rbac --bind` bound,
e.g. `kfp.Client().create_run_from_pipeline_package(..., service_account="kfval-runner")`. The
Cucumber JSON and the JUnit XML are the stage's output artifacts, kept whether or not scenarios
failed; the next stage turns kfval's exit code into the run's verdict, so a failed validation fails
the pipeline after its reports are stored.

Compile: `python deploy/ci/kfp/pipeline.py --output kfval-pipeline.yaml` (needs `pip install kfp`;
the project's tests compile it with kfp 2.17, in .venv-ci).
"""

import argparse

from kfp import compiler, dsl

RUNNER_IMAGE = "registry.example.com/kfval/runner:0.1.0"
"""Where CI pushed deploy/runner/Dockerfile's image; change it to yours."""
RUN_AND_KEEP_EXIT_CODE = 'kfval run "$@"; echo $? > "$EXIT_CODE_PATH"'
"""Run the suite with the component's arguments, and keep its exit code as an output instead of failing the
step, so that the reports it wrote are uploaded as artifacts either way."""


@dsl.container_component
def kfval_run(
    tags: str,
    cucumber: dsl.Output[dsl.Artifact],
    junit: dsl.Output[dsl.Artifact],
    exit_code: dsl.OutputPath(int),  # type: ignore[valid-type]
) -> dsl.ContainerSpec:
    """The selected scenarios against the cluster this pod runs in; reports as artifacts."""
    return dsl.ContainerSpec(
        image=RUNNER_IMAGE,
        command=["sh", "-c", f'EXIT_CODE_PATH="$0"; shift; {RUN_AND_KEEP_EXIT_CODE}', exit_code],
        args=[
            "--tags",
            tags,
            "-u",
            dsl.ConcatPlaceholder(["reports.cucumber=", cucumber.path]),
            "-u",
            dsl.ConcatPlaceholder(["reports.junit=", junit.path]),
        ],
    )


FAIL_UNLESS_ZERO = (
    '[ "$0" -eq 0 ] || { echo "kfval run exited with $0: see its cucumber and junit artifacts"; exit 1; }'
)


@dsl.container_component
def verdict(exit_code: int) -> dsl.ContainerSpec:
    """Fail the pipeline when kfval did (its reports are already stored); the runner image is already pulled."""
    return dsl.ContainerSpec(image=RUNNER_IMAGE, command=["sh", "-c", FAIL_UNLESS_ZERO, exit_code])


@dsl.pipeline(name="kfval", description="Validate the Kubeflow installation this pipeline runs on with kfval.")
def kfval_pipeline(tags: str = "training") -> None:
    run = kfval_run(tags=tags)
    run.set_display_name("kfval-run")
    run.set_caching_options(False)
    verdict(exit_code=run.outputs["exit_code"]).set_display_name("verdict")


def main() -> None:
    parser = argparse.ArgumentParser(description="compile the kfval pipeline to Kubeflow Pipelines YAML")
    parser.add_argument("--output", default="kfval-pipeline.yaml", help="where to write it")
    args = parser.parse_args()
    compiler.Compiler().compile(kfval_pipeline, package_path=args.output)


if __name__ == "__main__":
    main()
