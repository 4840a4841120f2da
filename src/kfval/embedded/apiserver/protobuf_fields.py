"""Field tables for the protobuf messages this server decodes, numbered as in generated.proto
(k8s.io/apimachinery and k8s.io/api, release v0.32). JSON names equal the proto names except
where Go's casing differs (`uID` -> `uid`), which the tables already spell the JSON way.

This module holds the vocabulary (Field, Message) and the apimachinery messages every kind embeds;
protobuf_pods.py holds the pod template, protobuf_kinds.py the kinds and which message each is.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    """One field: its JSON name and how to read it.

    `type` is one of string, int (int32/int64 varint), bool, bytes (base64 text in JSON), raw
    (bytes kept as bytes), time (meta.v1.Time), fieldsv1 (embedded JSON), quantity
    (resource.Quantity -> its string) or intorstr (intstr.IntOrString -> int or str); `message`
    names a nested message; `map_of` makes it a map<string, map_of>.

    Go marshals every non-pointer field, zero or not, while its JSON leaves zero `omitempty`
    fields out: a zero int or false bool is dropped unless `pointer` says the Go field is a
    pointer (then zero is a real value, e.g. `replicas: 0`). `embedded` marks a Go struct
    embedded with `json:",inline"` (LocalObjectReference, VolumeSource): its fields belong to
    the parent in JSON.
    """

    name: str
    type: str = "string"
    repeated: bool = False
    message: Message | None = None
    map_of: str | None = None
    pointer: bool = False
    embedded: bool = False


@dataclass(frozen=True)
class Message:
    fields: dict[int, Field] = field(default_factory=dict)


TYPE_META = Message({1: Field("apiVersion"), 2: Field("kind")})
UNKNOWN = Message(
    {
        1: Field("typeMeta", message=TYPE_META),
        2: Field("raw", "raw"),
        3: Field("contentEncoding"),
        4: Field("contentType"),
    }
)
OWNER_REFERENCE = Message(
    {
        1: Field("kind"),
        3: Field("name"),
        4: Field("uid"),
        5: Field("apiVersion"),
        6: Field("controller", "bool", pointer=True),
        7: Field("blockOwnerDeletion", "bool", pointer=True),
    }
)
MANAGED_FIELDS_ENTRY = Message(
    {
        1: Field("manager"),
        2: Field("operation"),
        3: Field("apiVersion"),
        4: Field("time", "time"),
        6: Field("fieldsType"),
        7: Field("fieldsV1", "fieldsv1"),
        8: Field("subresource"),
    }
)
OBJECT_META = Message(
    {
        1: Field("name"),
        2: Field("generateName"),
        3: Field("namespace"),
        4: Field("selfLink"),
        5: Field("uid"),
        6: Field("resourceVersion"),
        7: Field("generation", "int"),
        8: Field("creationTimestamp", "time"),
        9: Field("deletionTimestamp", "time"),
        10: Field("deletionGracePeriodSeconds", "int", pointer=True),
        11: Field("labels", map_of="string"),
        12: Field("annotations", map_of="string"),
        13: Field("ownerReferences", repeated=True, message=OWNER_REFERENCE),
        14: Field("finalizers", repeated=True),
        17: Field("managedFields", repeated=True, message=MANAGED_FIELDS_ENTRY),
    }
)
LABEL_SELECTOR = Message(
    {
        1: Field("matchLabels", map_of="string"),
        2: Field(
            "matchExpressions",
            repeated=True,
            message=Message({1: Field("key"), 2: Field("operator"), 3: Field("values", repeated=True)}),
        ),
    }
)
NAMESPACE = Message(
    {
        1: Field("metadata", message=OBJECT_META),
        2: Field("spec", message=Message({1: Field("finalizers", repeated=True)})),
        3: Field("status", message=Message({1: Field("phase")})),
    }
)
CONFIG_MAP = Message(
    {
        1: Field("metadata", message=OBJECT_META),
        2: Field("data", map_of="string"),
        3: Field("binaryData", map_of="bytes"),
        4: Field("immutable", "bool", pointer=True),
    }
)
SECRET = Message(
    {
        1: Field("metadata", message=OBJECT_META),
        2: Field("data", map_of="bytes"),
        3: Field("type"),
        4: Field("stringData", map_of="string"),
        5: Field("immutable", "bool", pointer=True),
    }
)
DELETE_OPTIONS = Message(
    {
        1: Field("gracePeriodSeconds", "int", pointer=True),
        2: Field("preconditions", message=Message({1: Field("uid"), 2: Field("resourceVersion")})),
        3: Field("orphanDependents", "bool", pointer=True),
        4: Field("propagationPolicy"),
        5: Field("dryRun", repeated=True),
        6: Field("ignoreStoreReadErrorWithClusterBreakingPotential", "bool"),
    }
)
RESOURCE_ATTRIBUTES = Message(
    {
        1: Field("namespace"),
        2: Field("verb"),
        3: Field("group"),
        4: Field("version"),
        5: Field("resource"),
        6: Field("subresource"),
        7: Field("name"),
    }
)
SELF_SUBJECT_ACCESS_REVIEW = Message(
    {
        1: Field("metadata", message=OBJECT_META),
        2: Field(
            "spec",
            message=Message(
                {
                    1: Field("resourceAttributes", message=RESOURCE_ATTRIBUTES),
                    2: Field("nonResourceAttributes", message=Message({1: Field("path"), 2: Field("verb")})),
                }
            ),
        ),
    }
)
SELF_SUBJECT_RULES_REVIEW = Message(
    {1: Field("metadata", message=OBJECT_META), 2: Field("spec", message=Message({1: Field("namespace")}))}
)
