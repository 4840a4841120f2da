"""The real API server's validation rules, worded exactly as it words them.

kubectl prints a 422 as `The Pod "bad" is invalid: spec.containers[0].image: Required value`, and
scenarios assert on that text, so every cause here carries the field path and message the real
server (v1.32, apimachinery `field` errors) produces. This module holds the vocabulary of field
errors, the name and key rules, quantities, and the kinds that carry no pod spec;
podvalidation.py covers the kinds that do.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from kfval.embedded.errors import Cause
from kfval.embedded.types import Body, ResourceKey, ResourceType

# -- field errors (k8s.io/apimachinery/pkg/util/validation/field) --------------------------------


def go_float(value: float) -> str:
    """A float64 as Go's `%v` prints it: shortest digits, an exponent from 1e+06 up and below 1e-04."""
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    power = len(text) + exponent - 1
    prefix = "-" if sign else ""
    if power < -4 or power >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if power < 0:
        return f"{prefix}0.{'0' * (-power - 1)}{text}"
    whole, fraction = text[: power + 1].ljust(power + 1, "0"), text[power + 1 :]
    return f"{prefix}{whole}{'.' + fraction if fraction else ''}"


def go_value(value: Any) -> str:
    """A bad value the way Go's field errors print it (v1.32: `%q`, `%v` or `%#v`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return f"map[string]string{{{inner}}}"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(json.dumps(v) for v in value) + "}"
    return json.dumps(value, sort_keys=True)


def go_string_map(value: Mapping[str, str] | None) -> str:
    """`map[string]string{...}`, or `map[string]string(nil)` for a missing map."""
    return "map[string]string(nil)" if value is None else go_value(dict(value))


def go_label_selector(selector: Mapping[str, Any]) -> str:
    """A metav1.LabelSelector printed with `%#v`."""
    labels = selector.get("matchLabels")
    expressions = selector.get("matchExpressions")
    exprs = "[]v1.LabelSelectorRequirement(nil)" if not expressions else json.dumps(expressions)
    return f"v1.LabelSelector{{MatchLabels:{go_string_map(labels)}, MatchExpressions:{exprs}}}"


def _with_detail(text: str, detail: str) -> str:
    return f"{text}: {detail}" if detail else text


def required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", _with_detail("Required value", detail), path)


def invalid(path: str, value: Any, detail: str, *, rendered: str | None = None) -> Cause:
    shown = rendered if rendered is not None else go_value(value)
    return Cause("FieldValueInvalid", _with_detail(f"Invalid value: {shown}", detail), path)


def not_supported(path: str, value: Any, supported: Iterable[str]) -> Cause:
    detail = "supported values: " + ", ".join(json.dumps(v) for v in supported)
    return Cause("FieldValueNotSupported", f"Unsupported value: {go_value(value)}: {detail}", path)


def type_invalid(path: str, value: Any, detail: str) -> Cause:
    """A value of the wrong schema type (`field.TypeInvalid`): worded as Invalid, its own reason."""
    return Cause("FieldValueTypeInvalid", _with_detail(f"Invalid value: {go_value(value)}", detail), path)


def too_long(path: str, limit: int) -> Cause:
    """`field.TooLong` (v1.32): the value itself is never shown."""
    return Cause("FieldValueTooLong", f"Too long: may not be more than {limit} byte{'' if limit == 1 else 's'}", path)


def too_many(path: str, actual: int, limit: int) -> Cause:
    return Cause("FieldValueTooMany", f"Too many: {actual}: must have at most {limit} items", path)


def duplicate(path: str, value: Any, *, rendered: str | None = None) -> Cause:
    shown = rendered if rendered is not None else go_value(value)
    return Cause("FieldValueDuplicate", f"Duplicate value: {shown}", path)


def not_found(path: str, value: Any) -> Cause:
    return Cause("FieldValueNotFound", f"Not found: {go_value(value)}", path)


def forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", _with_detail("Forbidden", detail), path)


def nonnegative(path: str, value: Any) -> list[Cause]:
    if isinstance(value, int) and value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


# -- names, keys and ports (k8s.io/apimachinery/pkg/util/validation) ----------------------------


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    text = message + " (e.g. "
    for index, example in enumerate(examples):
        if index:
            text += " or "
        text += f"'{example}', "
    return text + f"regex used for validation is '{pattern}')"


def _max_len(limit: int) -> str:
    return f"must be no more than {limit} characters"


DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + r"(\." + DNS1123_LABEL + r")*"
DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
CONFIG_KEY = r"[-._a-zA-Z0-9]+"
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)


def _full(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def dns1123_label_errors(value: str) -> list[str]:
    errors = [_max_len(63)] if len(value) > 63 else []
    if not _full(DNS1123_LABEL, value):
        errors.append(
            _regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                "start and end with an alphanumeric character",
                DNS1123_LABEL,
                "my-name",
                "123-abc",
            )
        )
    return errors


def dns1123_subdomain_errors(value: str) -> list[str]:
    errors = [_max_len(253)] if len(value) > 253 else []
    if not _full(DNS1123_SUBDOMAIN, value):
        errors.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character",
                DNS1123_SUBDOMAIN,
                "example.com",
            )
        )
    return errors


def dns1035_label_errors(value: str) -> list[str]:
    errors = [_max_len(63)] if len(value) > 63 else []
    if not _full(DNS1035_LABEL, value):
        errors.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character",
                DNS1035_LABEL,
                "my-name",
                "abc-123",
            )
        )
    return errors


def path_segment_errors(value: str) -> list[str]:
    """RBAC object names: any path segment (`system:controller:x` is fine)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in value]


def qualified_name_errors(value: str) -> list[str]:
    """Label and annotation keys: `[prefix/]name`."""
    parts = value.split("/")
    if len(parts) > 2:
        return ["a qualified name " + _regex_error(_QUALIFIED_NAME_MSG, QUALIFIED_NAME, "MyName", "my.name", "123-abc")]
    errors: list[str] = []
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend("prefix part " + e for e in dns1123_subdomain_errors(parts[0]))
    name = parts[-1]
    if not name:
        return [*errors, "name part must be non-empty"]
    if len(name) > 63:
        errors.append("name part " + _max_len(63))
    if not _full(QUALIFIED_NAME, name):
        errors.append("name part " + _regex_error(_QUALIFIED_NAME_MSG, QUALIFIED_NAME, "MyName", "my.name", "123-abc"))
    return errors


def label_value_errors(value: str) -> list[str]:
    errors = [_max_len(63)] if len(value) > 63 else []
    if not _full(LABEL_VALUE, value):
        message = (
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
        errors.append(_regex_error(message, LABEL_VALUE, "MyValue", "my_value", "12345"))
    return errors


def config_key_errors(key: str) -> list[str]:
    """ConfigMap and Secret data keys."""
    errors = [_max_len(253)] if len(key) > 253 else []
    if not _full(CONFIG_KEY, key):
        message = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
        errors.append(_regex_error(message, CONFIG_KEY, "key.name", "KEY_NAME", "key-name"))
    if key in (".", ".."):
        errors.append(f"must not be '{key}'")
    elif key.startswith(".."):
        errors.append("must not start with '..'")
    return errors


def port_number_errors(port: Any) -> list[str]:
    if isinstance(port, int) and 1 <= port <= 65535:
        return []
    return ["must be between 1 and 65535, inclusive"]


def port_name_errors(name: str) -> list[str]:
    errors = [_max_len(15)] if len(name) > 15 else []
    if not _full("[-a-z0-9]+", name):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", name):
        errors.append("must contain at least one letter (a-z)")
    if "--" in name:
        errors.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errors.append("must not begin or end with a hyphen")
    return errors


# -- objects -------------------------------------------------------------------------------------

NameRule = Callable[[str], list[str]]
_RBAC_GROUP = "rbac.authorization.k8s.io"


def name_rule(rt: ResourceType) -> NameRule:
    """Which name rule a kind's ObjectMeta validation uses."""
    if rt.key == ResourceKey("", "namespaces"):
        return dns1123_label_errors
    if rt.key == ResourceKey("", "services"):
        return dns1035_label_errors
    if rt.group == _RBAC_GROUP:
        return path_segment_errors
    return dns1123_subdomain_errors


def validate_metadata(rt: ResourceType, obj: Body) -> list[Cause]:
    """Name (and generateName as a prefix), label keys and values, annotation keys."""
    meta = obj.get("metadata") or {}
    rule = name_rule(rt)
    causes: list[Cause] = []
    generate_name = str(meta.get("generateName") or "")
    if generate_name:
        prefix = generate_name[:-1] + "a" if generate_name.endswith("-") else generate_name
        causes += [invalid("metadata.generateName", generate_name, m) for m in rule(prefix)]
    name = str(meta.get("name") or "")
    if not name:
        causes.append(required("metadata.name", "name or generateName is required"))
    else:
        causes += [invalid("metadata.name", name, m) for m in rule(name)]
    for key, value in sorted((meta.get("labels") or {}).items()):
        causes += [invalid("metadata.labels", key, m) for m in qualified_name_errors(key)]
        causes += [invalid("metadata.labels", value, m) for m in label_value_errors(str(value))]
    for key in sorted(meta.get("annotations") or {}):
        causes += [invalid("metadata.annotations", key, m) for m in qualified_name_errors(key.lower())]
    return causes


def _validate_data_keys(obj: Body, fields: tuple[str, ...]) -> list[Cause]:
    causes: list[Cause] = []
    for data_field in fields:
        for key in sorted(obj.get(data_field) or {}):
            causes += [invalid(f"{data_field}[{key}]", key, m) for m in config_key_errors(key)]
    return causes


def validate_configmap(obj: Body, *, old: Body | None) -> list[Cause]:
    causes = _validate_data_keys(obj, ("data", "binaryData"))
    for key in sorted(set(obj.get("data") or {}) & set(obj.get("binaryData") or {})):
        causes.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    return causes


DOCKER_CONFIG_KEYS = {"kubernetes.io/dockerconfigjson": ".dockerconfigjson", "kubernetes.io/dockercfg": ".dockercfg"}
JSON_KINDS = {list: "array", str: "string", bool: "bool", int: "number", float: "number"}


def docker_config_error(encoded: object) -> str | None:
    """Why a docker config key is not a JSON object, in the words of Go's encoding/json; None when it is."""
    try:
        text = base64.b64decode(str(encoded)).decode()
    except (ValueError, binascii.Error):
        return "illegal base64 data"
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        if error.pos >= len(text.rstrip()):
            return "unexpected end of JSON input"
        return f"invalid character {text[error.pos]!r} looking for beginning of value"
    if parsed is None or isinstance(parsed, dict):
        return None
    kind = JSON_KINDS.get(type(parsed), "value")
    return f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"


def validate_secret(obj: Body, *, old: Body | None) -> list[Cause]:
    causes = _validate_data_keys(obj, ("data",))
    data = obj.get("data") or {}
    required_keys = {
        "kubernetes.io/tls": ("tls.crt", "tls.key"),
        "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
        "kubernetes.io/dockercfg": (".dockercfg",),
    }.get(str(obj.get("type")), ())
    causes += [required(f"data[{key}]") for key in required_keys if key not in data]
    config_key = DOCKER_CONFIG_KEYS.get(str(obj.get("type")))
    problem = docker_config_error(data[config_key]) if config_key in data else None
    if problem is not None:
        causes.append(invalid(f"data[{config_key}]", "<secret contents redacted>", problem))
    return causes


_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_PROTOCOLS = ("SCTP", "TCP", "UDP")


def _validate_service_port(port: Mapping[str, Any], path: str, *, require_name: bool) -> list[Cause]:
    causes: list[Cause] = []
    name = str(port.get("name") or "")
    if require_name and not name:
        causes.append(required(f"{path}.name"))
    elif name:
        causes += [invalid(f"{path}.name", name, m) for m in dns1123_label_errors(name)]
    causes += [invalid(f"{path}.port", port.get("port"), m) for m in port_number_errors(port.get("port"))]
    protocol = str(port.get("protocol") or "")
    if not protocol:
        causes.append(required(f"{path}.protocol"))
    elif protocol not in _PROTOCOLS:
        causes.append(not_supported(f"{path}.protocol", protocol, _PROTOCOLS))
    target = port.get("targetPort")
    errors = port_number_errors(target) if isinstance(target, int) else port_name_errors(str(target))
    causes += [invalid(f"{path}.targetPort", target, m) for m in errors]
    return causes


def validate_service(obj: Body, *, old: Body | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    service_type = spec.get("type")
    causes: list[Cause] = []
    if service_type not in _SERVICE_TYPES:
        causes.append(not_supported("spec.type", service_type, _SERVICE_TYPES))
    if spec.get("sessionAffinity") not in ("ClientIP", "None"):
        causes.append(not_supported("spec.sessionAffinity", spec.get("sessionAffinity"), ("ClientIP", "None")))
    if service_type == "ExternalName" and not spec.get("externalName"):
        causes.append(required("spec.externalName"))
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    if not ports and spec.get("clusterIP") != "None" and service_type != "ExternalName":
        causes.append(required("spec.ports"))
    names: set[str] = set()
    for index, port in enumerate(ports):
        path = f"spec.ports[{index}]"
        causes += _validate_service_port(port, path, require_name=len(ports) > 1)
        name = str(port.get("name") or "")
        if name and name in names:
            causes.append(duplicate(f"{path}.name", name))
        names.add(name)
    return causes


KindValidator = Callable[..., list[Cause]]

VALIDATORS: dict[ResourceKey, KindValidator] = {
    ResourceKey("", "services"): validate_service,
    ResourceKey("", "configmaps"): validate_configmap,
    ResourceKey("", "secrets"): validate_secret,
}


def validate(rt: ResourceType, obj: Body, *, old: Body | None) -> list[Cause]:
    """Metadata of every kind, then the spec of the kinds this module knows (services, configmaps, secrets)."""
    causes = validate_metadata(rt, obj)
    kind_validator = VALIDATORS.get(rt.key)
    if kind_validator is not None:
        causes += kind_validator(obj, old=old)
    return causes
