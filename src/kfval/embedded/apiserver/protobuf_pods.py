"""Field tables for the pod template (k8s.io/api core/v1 generated.proto, v0.32 numbering).

Deployments, Jobs, StatefulSets and the other workloads kubectl's generators create all carry a
PodTemplateSpec, so it gets its own module: the containers with their ports, env, resources and
volume mounts, and the common volume sources. Fields a generator never sends and this cluster
never runs (probes, security contexts, affinity) are left out; the decoder skips unknown numbers.
"""

from __future__ import annotations

from kfval.embedded.apiserver.protobuf_fields import OBJECT_META, Field, Message

LOCAL_OBJECT_REFERENCE = Message({1: Field("name")})
OBJECT_REFERENCE = Message(
    {
        1: Field("kind"),
        2: Field("namespace"),
        3: Field("name"),
        4: Field("uid"),
        5: Field("apiVersion"),
        6: Field("resourceVersion"),
        7: Field("fieldPath"),
    }
)
KEY_TO_PATH = Message({1: Field("key"), 2: Field("path"), 3: Field("mode", "int", pointer=True)})
CONFIG_MAP_KEY_SELECTOR = Message(
    {
        1: Field("localObjectReference", message=LOCAL_OBJECT_REFERENCE, embedded=True),
        2: Field("key"),
        3: Field("optional", "bool", pointer=True),
    }
)
SECRET_KEY_SELECTOR = CONFIG_MAP_KEY_SELECTOR
RESOURCE_FIELD_SELECTOR = Message({1: Field("containerName"), 2: Field("resource"), 3: Field("divisor", "quantity")})
ENV_VAR = Message(
    {
        1: Field("name"),
        2: Field("value"),
        3: Field(
            "valueFrom",
            message=Message(
                {
                    2: Field("resourceFieldRef", message=RESOURCE_FIELD_SELECTOR),
                    3: Field("configMapKeyRef", message=CONFIG_MAP_KEY_SELECTOR),
                    4: Field("secretKeyRef", message=SECRET_KEY_SELECTOR),
                }
            ),
        ),
    }
)
CONTAINER_PORT = Message(
    {
        1: Field("name"),
        2: Field("hostPort", "int"),
        3: Field("containerPort", "int"),
        4: Field("protocol"),
        5: Field("hostIP"),
    }
)
RESOURCE_REQUIREMENTS = Message({1: Field("limits", map_of="quantity"), 2: Field("requests", map_of="quantity")})
VOLUME_MOUNT = Message(
    {
        1: Field("name"),
        2: Field("readOnly", "bool"),
        3: Field("mountPath"),
        4: Field("subPath"),
        5: Field("mountPropagation"),
        6: Field("subPathExpr"),
    }
)
CONTAINER = Message(
    {
        1: Field("name"),
        2: Field("image"),
        3: Field("command", repeated=True),
        4: Field("args", repeated=True),
        5: Field("workingDir"),
        6: Field("ports", repeated=True, message=CONTAINER_PORT),
        7: Field("env", repeated=True, message=ENV_VAR),
        8: Field("resources", message=RESOURCE_REQUIREMENTS),
        9: Field("volumeMounts", repeated=True, message=VOLUME_MOUNT),
        13: Field("terminationMessagePath"),
        14: Field("imagePullPolicy"),
        16: Field("stdin", "bool"),
        17: Field("stdinOnce", "bool"),
        18: Field("tty", "bool"),
        20: Field("terminationMessagePolicy"),
    }
)
_OPTIONAL = Field("optional", "bool", pointer=True)
VOLUME_SOURCE = Message(
    {
        1: Field("hostPath", message=Message({1: Field("path"), 2: Field("type")})),
        2: Field("emptyDir", message=Message({1: Field("medium"), 2: Field("sizeLimit", "quantity")})),
        6: Field(
            "secret",
            message=Message(
                {
                    1: Field("secretName"),
                    2: Field("items", repeated=True, message=KEY_TO_PATH),
                    3: Field("defaultMode", "int", pointer=True),
                    4: _OPTIONAL,
                }
            ),
        ),
        10: Field("persistentVolumeClaim", message=Message({1: Field("claimName"), 2: Field("readOnly", "bool")})),
        19: Field(
            "configMap",
            message=Message(
                {
                    1: Field("localObjectReference", message=LOCAL_OBJECT_REFERENCE, embedded=True),
                    2: Field("items", repeated=True, message=KEY_TO_PATH),
                    3: Field("defaultMode", "int", pointer=True),
                    4: _OPTIONAL,
                }
            ),
        ),
    }
)
VOLUME = Message({1: Field("name"), 2: Field("volumeSource", message=VOLUME_SOURCE, embedded=True)})
POD_SPEC = Message(
    {
        1: Field("volumes", repeated=True, message=VOLUME),
        2: Field("containers", repeated=True, message=CONTAINER),
        3: Field("restartPolicy"),
        4: Field("terminationGracePeriodSeconds", "int", pointer=True),
        5: Field("activeDeadlineSeconds", "int", pointer=True),
        6: Field("dnsPolicy"),
        7: Field("nodeSelector", map_of="string"),
        8: Field("serviceAccountName"),
        9: Field("serviceAccount"),
        10: Field("nodeName"),
        11: Field("hostNetwork", "bool"),
        12: Field("hostPID", "bool"),
        13: Field("hostIPC", "bool"),
        15: Field("imagePullSecrets", repeated=True, message=LOCAL_OBJECT_REFERENCE),
        16: Field("hostname"),
        17: Field("subdomain"),
        19: Field("schedulerName"),
        20: Field("initContainers", repeated=True, message=CONTAINER),
        21: Field("automountServiceAccountToken", "bool", pointer=True),
        24: Field("priorityClassName"),
        25: Field("priority", "int", pointer=True),
        27: Field("shareProcessNamespace", "bool", pointer=True),
    }
)
POD_TEMPLATE_SPEC = Message({1: Field("metadata", message=OBJECT_META), 2: Field("spec", message=POD_SPEC)})
