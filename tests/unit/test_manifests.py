"""Manifests: rendering, escapes, every undefined variable with its line, YAML errors, and labelling."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest

from kfval.kube import applying, client, manifests
from kfval.kube.errors import ManifestError

VARIABLES = {"image": "busybox", "namespace": "kf-1", "workers": "3"}
LABELS = {"app.kubernetes.io/managed-by": "kfval", "kfval.dev/run-id": "r1"}
NAMESPACED = client.Kind("apps/v1", "Deployment", namespaced=True)


def text(source: str) -> str:
    return textwrap.dedent(source).lstrip("\n")


def document(body: dict[str, object], line: int = 1) -> manifests.Document:
    return manifests.Document(body, "m.yaml", line)


def test_variables_are_rendered_before_parsing_so_numbers_stay_numbers() -> None:
    [doc] = manifests.render_text(
        text("""
        apiVersion: kubeflow.org/v1
        kind: PyTorchJob
        metadata: {name: mnist}
        spec:
          replicas: ${workers}
          image: ${image}
        """),
        VARIABLES,
        source="step",
    )
    assert doc.body["spec"] == {"replicas": 3, "image": "busybox"}
    assert (doc.source, doc.line) == ("step", 1)


def test_double_dollar_keeps_the_text_of_a_variable() -> None:
    [doc] = manifests.render_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {run: 'echo $${HOME} ${image}'}\n",
        VARIABLES,
        source="step",
    )
    assert doc.body["data"] == {"run": "echo ${HOME} busybox"}


def test_every_undefined_variable_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "pytorchjob.yaml"
    path.write_text(
        text("""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: ${name}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c}
        data: {a: "${workers}", b: "${missing.key} $${escaped}"}
        """)
    )
    with pytest.raises(ManifestError) as caught:
        manifests.load(path, VARIABLES)
    lines = str(caught.value).splitlines()
    assert lines == [
        f"{path}:3: variable ${{name}} is not defined (known: image, namespace, workers); "
        "define it in the step or in radish.ini [variables]",
        f"{path}:8: variable ${{missing.key}} is not defined (known: image, namespace, workers); "
        "define it in the step or in radish.ini [variables]",
    ]


def test_an_undefined_variable_without_any_variables_says_so() -> None:
    with pytest.raises(ManifestError, match=r"step:1: variable \$\{x\} is not defined \(no variables are defined\)"):
        manifests.render_text("apiVersion: ${x}\n", {}, source="step")


def test_documents_know_the_line_where_they_start_and_empty_ones_are_skipped() -> None:
    docs = manifests.render_text(
        text("""
        # a leading comment
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: a}
        ---
        # nothing here
        ---
        ---
        # the job

        apiVersion: batch/v1
        kind: Job
        metadata:
          name: b
        """),
        {},
        source="m.yaml",
    )
    assert [(doc.body["metadata"]["name"], doc.line) for doc in docs] == [("a", 3), ("b", 12)]


def test_a_yaml_syntax_error_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: [Pod\n")
    with pytest.raises(
        ManifestError, match=rf"^{path}:6: the YAML cannot be parsed: .*flow sequence started on line 6"
    ):
        manifests.load(path, {})


def test_a_bad_indentation_points_at_its_line() -> None:
    source = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n labels: {}\n"
    with pytest.raises(ManifestError, match=r"^m\.yaml:5: the YAML cannot be parsed"):
        manifests.render_text(source, {}, source="m.yaml")


@pytest.mark.parametrize(
    ("source", "missing"),
    [
        ("kind: ConfigMap\nmetadata: {name: a}\n", "apiVersion"),
        ("apiVersion: v1\nmetadata: {name: a}\n", "kind"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {}}\n", "metadata.name"),
        ("apiVersion: v1\nkind: ConfigMap\n", "metadata.name"),
    ],
)
def test_a_document_that_names_no_object_is_refused_with_its_line(source: str, missing: str) -> None:
    good = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n"
    with pytest.raises(ManifestError, match=rf"^m\.yaml:5: the document has no {missing};"):
        manifests.render_text(good + source, {}, source="m.yaml")


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ManifestError, match=r"^m\.yaml:1: the document is a list, not an object"):
        manifests.render_text("- a\n- b\n", {}, source="m.yaml")


@pytest.mark.parametrize(
    ("source", "state"),
    [
        ("", "is empty"),
        ("\n  \n", "is empty"),
        ("# only a comment\n", "holds only empty documents and comments"),
        ("---\n---\n# nothing\n---\n", "holds only empty documents and comments"),
        ("--- ~\n", "holds only empty documents and comments"),
    ],
)
def test_a_manifest_without_any_object_is_refused_naming_the_file(tmp_path: Path, source: str, state: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(source)
    with pytest.raises(ManifestError) as refused:
        manifests.load(path, {})
    assert str(refused.value) == (
        f"{path}: no objects passed to apply: the manifest {state}; "
        "write at least one object with apiVersion, kind and metadata.name"
    )


def test_a_missing_file_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"nope\.yaml: cannot read the manifest"):
        manifests.load(tmp_path / "nope.yaml", {})


def test_labels_go_into_metadata_and_every_nested_pod_template() -> None:
    body = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "mnist", "labels": {"team": "qa", "kfval.dev/run-id": "old"}},
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"template": {"spec": {"containers": []}}},
                "Worker": {"template": {"metadata": {"labels": {"role": "w"}}, "spec": {"containers": []}}},
            },
            "runPolicy": {"template": "not a pod template"},
        },
    }
    result = applying.labelled(document(body), kind=NAMESPACED, namespace="kf-1", labels=LABELS)
    assert result["metadata"]["labels"] == {"team": "qa", **LABELS}
    replicas = result["spec"]["pytorchReplicaSpecs"]
    assert replicas["Master"]["template"]["metadata"]["labels"] == LABELS
    assert replicas["Worker"]["template"]["metadata"]["labels"] == {"role": "w", **LABELS}
    assert result["spec"]["runPolicy"] == {"template": "not a pod template"}


def test_a_cronjob_labels_the_pods_of_its_jobs() -> None:
    body = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}},
    }
    result = applying.labelled(document(body), kind=NAMESPACED, namespace="kf-1", labels=LABELS)
    assert result["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"] == LABELS


def test_a_notebook_is_labelled_itself_and_its_template_left_as_the_crd_declares_it() -> None:
    body = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Notebook",
        "metadata": {"name": "nb", "labels": {"testing": "true"}},
        "spec": {"template": {"spec": {"containers": [{"name": "nb", "image": "jupyter"}]}}},
    }
    notebook = client.Kind("kubeflow.org/v1beta1", "Notebook", namespaced=True)
    result = applying.labelled(document(body), kind=notebook, namespace="kf-1", labels=LABELS)
    assert result["metadata"]["labels"] == {"testing": "true", **LABELS}
    assert "metadata" not in result["spec"]["template"], "the Notebook schema has no template metadata"


def test_the_caller_s_document_is_left_as_it_was() -> None:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {}}},
    }
    applying.labelled(document(body), kind=NAMESPACED, namespace="kf-1", labels=LABELS)
    assert body == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {}}},
    }


def test_namespaced_kinds_get_the_scenario_namespace() -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "kf-1"}}
    result = applying.labelled(document(body), kind=NAMESPACED, namespace="kf-1", labels={})
    assert result["metadata"]["namespace"] == "kf-1"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert applying.labelled(document(body), kind=NAMESPACED, namespace="kf-2", labels={})["metadata"] == {
        "name": "c",
        "namespace": "kf-2",
        "labels": {},
    }


def test_a_document_naming_another_namespace_is_refused() -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}
    with pytest.raises(ManifestError, match=r'^m\.yaml:4: Deployment "c" names namespace "default", but the scenario'):
        applying.labelled(document(body, line=4), kind=NAMESPACED, namespace="kf-1", labels={})


def test_cluster_scoped_kinds_carry_no_namespace() -> None:
    kind = client.Kind("rbac.authorization.k8s.io/v1", "ClusterRole", namespaced=False)
    body = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": {"name": "r", "namespace": "x"}}
    result = applying.labelled(document(body), kind=kind, namespace="kf-1", labels=LABELS)
    assert result["metadata"] == {"name": "r", "labels": LABELS}


def test_secret_values_are_decoded_and_collected_for_redaction() -> None:
    encoded = base64.b64encode(b"s3cret-token").decode()
    docs = [
        document({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"token": encoded}}),
        document({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}, "stringData": {"pw": "hunter2"}}),
        document({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "public"}}),
        document({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "u"}, "data": {"bin": "////", "e": ""}}),
    ]
    values = applying.secret_values(docs)
    assert "s3cret-token" in values
    assert encoded in values
    assert "hunter2" in values
    assert "public" not in values
    assert "////" in values
    assert "" not in values
