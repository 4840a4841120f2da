"""Which protobuf message each kind is, for the kinds kubectl's generators and Helm send as protobuf.

`kubectl create deployment|job|service|serviceaccount|token|role|rolebinding` use the typed client,
which writes protobuf with no JSON fallback (k8s-api-surface.md §4.1). Numbers follow
generated.proto of k8s.io/api v0.32 (apps/v1, batch/v1, core/v1, rbac/v1, authentication/v1).
"""

from __future__ import annotations

from kfval.embedded.apiserver import protobuf_fields as meta
from kfval.embedded.apiserver.protobuf_fields import OBJECT_META, Field, Message
from kfval.embedded.apiserver.protobuf_pods import LOCAL_OBJECT_REFERENCE, OBJECT_REFERENCE, POD_TEMPLATE_SPEC

_ROLLING_UPDATE = Message({1: Field("maxUnavailable", "intorstr"), 2: Field("maxSurge", "intorstr")})
DEPLOYMENT_SPEC = Message(
    {
        1: Field("replicas", "int", pointer=True),
        2: Field("selector", message=meta.LABEL_SELECTOR),
        3: Field("template", message=POD_TEMPLATE_SPEC),
        4: Field("strategy", message=Message({1: Field("type"), 2: Field("rollingUpdate", message=_ROLLING_UPDATE)})),
        5: Field("minReadySeconds", "int"),
        6: Field("revisionHistoryLimit", "int", pointer=True),
        7: Field("paused", "bool"),
        9: Field("progressDeadlineSeconds", "int", pointer=True),
    }
)
JOB_SPEC = Message(
    {
        1: Field("parallelism", "int", pointer=True),
        2: Field("completions", "int", pointer=True),
        3: Field("activeDeadlineSeconds", "int", pointer=True),
        4: Field("selector", message=meta.LABEL_SELECTOR),
        5: Field("manualSelector", "bool", pointer=True),
        6: Field("template", message=POD_TEMPLATE_SPEC),
        7: Field("backoffLimit", "int", pointer=True),
        8: Field("ttlSecondsAfterFinished", "int", pointer=True),
        9: Field("completionMode"),
        10: Field("suspend", "bool", pointer=True),
        12: Field("backoffLimitPerIndex", "int", pointer=True),
        13: Field("maxFailedIndexes", "int", pointer=True),
        14: Field("podReplacementPolicy"),
        15: Field("managedBy"),
    }
)
SERVICE_PORT = Message(
    {
        1: Field("name"),
        2: Field("protocol"),
        3: Field("port", "int"),
        4: Field("targetPort", "intorstr"),
        5: Field("nodePort", "int"),
        6: Field("appProtocol"),
    }
)
SERVICE_SPEC = Message(
    {
        1: Field("ports", repeated=True, message=SERVICE_PORT),
        2: Field("selector", map_of="string"),
        3: Field("clusterIP"),
        4: Field("type"),
        5: Field("externalIPs", repeated=True),
        7: Field("sessionAffinity"),
        8: Field("loadBalancerIP"),
        10: Field("externalName"),
        11: Field("externalTrafficPolicy"),
        13: Field("publishNotReadyAddresses", "bool"),
        17: Field("ipFamilyPolicy"),
        18: Field("clusterIPs", repeated=True),
        19: Field("ipFamilies", repeated=True),
        20: Field("allocateLoadBalancerNodePorts", "bool", pointer=True),
        22: Field("internalTrafficPolicy"),
    }
)
SERVICE_ACCOUNT = Message(
    {
        1: Field("metadata", message=OBJECT_META),
        2: Field("secrets", repeated=True, message=OBJECT_REFERENCE),
        3: Field("imagePullSecrets", repeated=True, message=LOCAL_OBJECT_REFERENCE),
        4: Field("automountServiceAccountToken", "bool", pointer=True),
    }
)
TOKEN_REQUEST_SPEC = Message(
    {
        1: Field("audiences", repeated=True),
        3: Field(
            "boundObjectRef",
            message=Message({1: Field("kind"), 2: Field("apiVersion"), 3: Field("name"), 4: Field("uid")}),
        ),
        4: Field("expirationSeconds", "int", pointer=True),
    }
)
POLICY_RULE = Message(
    {
        1: Field("verbs", repeated=True),
        2: Field("apiGroups", repeated=True),
        3: Field("resources", repeated=True),
        4: Field("resourceNames", repeated=True),
        5: Field("nonResourceURLs", repeated=True),
    }
)
SUBJECT = Message({1: Field("kind"), 2: Field("apiGroup"), 3: Field("name"), 4: Field("namespace")})
ROLE_REF = Message({1: Field("apiGroup"), 2: Field("kind"), 3: Field("name")})


def _object(spec: Message) -> Message:
    """metadata = 1, spec = 2 (status = 3 is the server's business and is not read)."""
    return Message({1: Field("metadata", message=OBJECT_META), 2: Field("spec", message=spec)})


MESSAGES_BY_KIND: dict[str, Message] = {
    "Namespace": meta.NAMESPACE,
    "ConfigMap": meta.CONFIG_MAP,
    "Secret": meta.SECRET,
    "DeleteOptions": meta.DELETE_OPTIONS,
    "SelfSubjectAccessReview": meta.SELF_SUBJECT_ACCESS_REVIEW,
    "SelfSubjectRulesReview": meta.SELF_SUBJECT_RULES_REVIEW,
    "Deployment": _object(DEPLOYMENT_SPEC),
    "Job": _object(JOB_SPEC),
    "Service": _object(SERVICE_SPEC),
    "ServiceAccount": SERVICE_ACCOUNT,
    "TokenRequest": _object(TOKEN_REQUEST_SPEC),
    "Role": Message({1: Field("metadata", message=OBJECT_META), 2: Field("rules", repeated=True, message=POLICY_RULE)}),
    "RoleBinding": Message(
        {
            1: Field("metadata", message=OBJECT_META),
            2: Field("subjects", repeated=True, message=SUBJECT),
            3: Field("roleRef", message=ROLE_REF),
        }
    ),
}
