"""The AsyncAPI 3.0 document of the wire contract, generated from the payload models.

``python -m protocol.asyncapi > protocol/asyncapi.json`` rewrites the committed file; a test
fails when the file and the models disagree.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from protocol import topics
from protocol.payloads import (
    AccessDecision,
    AccessRequest,
    DenylistPage,
    StationConfig,
    StationEvent,
    StationState,
    TrustKeys,
)
from protocol.signing import SIGNATURE_PROPERTY
from protocol.topics import Family

_CHANNELS: list[tuple[Family, type[BaseModel], str, int, bool, str]] = [
    (
        Family.ACCESS_REQUEST,
        AccessRequest,
        "receive",
        1,
        False,
        "A station asks whether a scanned credential may enter. MQTT 5 properties: response "
        "topic = the station's access/decision topic, correlation data = request_id, message "
        "expiry 5 s.",
    ),
    (
        Family.ACCESS_DECISION,
        AccessDecision,
        "send",
        1,
        False,
        "The server's answer, with the request's correlation data. Never retained; a station "
        "acts only on a decision matching a request it made, not expired, for its own id.",
    ),
    (
        Family.EVENTS,
        StationEvent,
        "receive",
        1,
        False,
        "What happened at the door, numbered per station. Stored once by event_id.",
    ),
    (
        Family.STATE,
        StationState,
        "receive",
        1,
        True,
        "Retained birth message on connect; the last will (online=false) marks the station "
        "offline.",
    ),
    (
        Family.CONFIG,
        StationConfig,
        "send",
        1,
        True,
        "Retained configuration of one station: its own standing rules (mode, lockdown). "
        "Keys, audience and denylist are on the trust pages, shared by every station.",
    ),
]

# Published once for every station, retained; signed over 'WS1|trust|<page>|' + payload.
_TRUST_CHANNELS: list[tuple[str, str, dict[str, Any], type[BaseModel], str]] = [
    (
        "trust_keys",
        topics.TRUST_KEYS,
        {},
        TrustKeys,
        "The rider-token keys (kid -> Ed25519 key, base64), the audience tokens must carry, and "
        "the control keys a station pins from now on. Retained, one for every station; a "
        "station keeps the newest (version, then issued_at).",
    ),
    (
        "trust_denylist",
        topics.TRUST_ROOT + "/denylist/{bucket}",
        {"bucket": {"description": "two hex digits, 00-ff: first byte of SHA-256(rider id)"}},
        DenylistPage,
        "One bucket of the denylist (rider id -> lowest credential version still valid), "
        "retained, one for every station: a revocation republishes only its rider's bucket. "
        "A station's denylist is the union of every bucket's newest page.",
    ),
]


_SIGNATURE_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "MQTT 5 user properties.",
    "properties": {
        SIGNATURE_PROPERTY: {
            "type": "string",
            "description": (
                "<kid>.<base64url Ed25519 signature> of 'WS1|<family>|<station id>|' + the "
                "payload bytes ('WS1|trust|<keys or denylist/<bucket>>|' on trust pages); up "
                "to four (one per key during a rotation)."
            ),
        }
    },
    "required": [SIGNATURE_PROPERTY],
}


def document() -> dict[str, Any]:
    mode: Literal["validation"] = "validation"
    models = [(model, mode) for _, model, *_ in _CHANNELS]
    models += [(model, mode) for *_, model, _ in _TRUST_CHANNELS]
    _, schema = models_json_schema(models, ref_template="#/components/schemas/{model}")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for family, model, action, qos, retain, description in _CHANNELS:
        name = family.value.replace("/", "_")
        messages[model.__name__] = {
            "name": model.__name__,
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
            "headers": _SIGNATURE_HEADERS,
            "bindings": {"mqtt": {"qos": qos, "retain": retain}},
        }
        channels[name] = {
            "address": f"{topics.ROOT}/{{station_id}}/{family.value}",
            "description": description,
            "parameters": {"station_id": {"description": topics.STATION_ID_PATTERN}},
            "messages": {model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}},
        }
        operations[f"{action}_{name}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": description.split(".")[0] + ".",
        }
    for name, address, parameters, model, description in _TRUST_CHANNELS:
        messages[model.__name__] = {
            "name": model.__name__,
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
            "headers": _SIGNATURE_HEADERS,
            "bindings": {"mqtt": {"qos": 1, "retain": True}},
        }
        channels[name] = {
            "address": address,
            "description": description,
            "parameters": parameters,
            "messages": {model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}},
        }
        operations[f"send_{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": description.split(".")[0] + ".",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Warm Station wire contract",
            "version": "1",
            "description": (
                "MQTT 5 topics between station agents and the central server, seen from the "
                "server. Every payload carries its schema version v; receivers validate, log "
                "and drop what does not validate. Rider tokens are described in "
                "protocol/credential.py. Every message is signed (protocol/signing.py): by the "
                "station's own key when a station sends it, by the server's control keys when "
                "the server does; the signature travels in the MQTT 5 user property ws-sig and "
                "an unsigned or mis-signed message is dropped unread."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schema["$defs"]},
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
