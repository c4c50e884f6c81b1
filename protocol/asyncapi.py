"""The AsyncAPI 3.0 document of the wire contract, generated from the topics and payload models.

``python -m protocol.asyncapi > protocol/asyncapi.json`` rewrites the committed file. Tests check
that the file matches this generator, that every topic family has a channel, and that the
official parser (``@asyncapi/parser``, scripts/asyncapi/) finds no error in it. QoS, retain and
message expiry are MQTT operation bindings (bindings 0.2.0), never message fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from protocol import topics
from protocol.payloads import (
    AccessDecision,
    AccessRequest,
    DenylistPage,
    EventsAck,
    Heartbeat,
    StationCommand,
    StationConfig,
    StationEvent,
    StationState,
    TrustKeys,
)
from protocol.signing import SIGNATURE_PROPERTY
from protocol.topics import Family

MQTT_BINDINGS_VERSION = "0.2.0"
# Seconds; the agent's and the server's default (server setting decision_ttl_s).
_DECISION_EXPIRY_S = 5


@dataclass(frozen=True, slots=True)
class Channel:
    """One topic (family) as the server sees it: it receives what stations send."""

    name: str
    address: str
    model: type[BaseModel]
    action: Literal["send", "receive"]
    qos: Literal[0, 1]
    retain: bool
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    expiry_s: int | None = None


_STATION_ID = {"station_id": {"description": "the station's id, " + topics.STATION_ID_PATTERN}}


def _station(
    family: Family,
    model: type[BaseModel],
    action: Literal["send", "receive"],
    qos: Literal[0, 1],
    retain: bool,
    description: str,
    expiry_s: int | None = None,
) -> Channel:
    return Channel(
        name=family.value.replace("/", "_"),
        address=f"{topics.ROOT}/{{station_id}}/{family.value}",
        model=model,
        action=action,
        qos=qos,
        retain=retain,
        description=description,
        parameters=_STATION_ID,
        expiry_s=expiry_s,
    )


STATION_CHANNELS: dict[Family, Channel] = {
    Family.ACCESS_REQUEST: _station(
        Family.ACCESS_REQUEST,
        AccessRequest,
        "receive",
        1,
        False,
        "A station asks whether a scanned credential may enter: a server token (WS1:, "
        "protocol/credential.py) or a phone's device code (WSD1:, a device certificate signed "
        "by a rider-token key plus a presentation signed by the phone, protocol/device_cert.py)"
        ". MQTT 5 properties: response topic = the station's access/decision topic, "
        "correlation data = request_id.",
        expiry_s=_DECISION_EXPIRY_S,
    ),
    Family.ACCESS_DECISION: _station(
        Family.ACCESS_DECISION,
        AccessDecision,
        "send",
        1,
        False,
        "The server's answer, with the request's correlation data. Never retained; a station "
        "acts only on a decision matching a request it made, not expired, for its own id.",
        expiry_s=_DECISION_EXPIRY_S,
    ),
    Family.EVENTS: _station(
        Family.EVENTS,
        StationEvent,
        "receive",
        1,
        False,
        "What happened at the door, numbered per station (epoch, seq). Stored once by "
        "event_id; the station keeps it in its outbox until acknowledged.",
    ),
    Family.EVENTS_ACK: _station(
        Family.EVENTS_ACK,
        EventsAck,
        "send",
        1,
        False,
        "The events the server has committed (exact seqs) and the ranges it is missing. Sent "
        "only after the database commit; the station then deletes them from its outbox.",
    ),
    Family.STATE: _station(
        Family.STATE,
        StationState,
        "receive",
        1,
        True,
        "Retained birth message on connect; the last will (online=false) marks the station "
        "offline.",
    ),
    Family.HEARTBEAT: _station(
        Family.HEARTBEAT,
        Heartbeat,
        "receive",
        0,
        False,
        "Station health every interval_s (camera, clock offset, outbox depth, config error,"
        " why it is not ready). "
        "The server marks a station unavailable after a few missed heartbeats.",
    ),
    Family.CONFIG: _station(
        Family.CONFIG,
        StationConfig,
        "send",
        1,
        True,
        "Retained configuration of one station: its own standing rules (mode, lockdown). "
        "Keys, audience and denylist are on the trust pages, shared by every station.",
    ),
    Family.COMMANDS: _station(
        Family.COMMANDS,
        StationCommand,
        "send",
        1,
        False,
        "A command staff gave through the server (remote unlock, lockdown, mode). Never "
        "retained, expiring with the command; acted on at most once, answered by an event.",
    ),
}

# Published once for every station, retained; signed over 'WS1|trust|<page>|' + payload.
TRUST_CHANNELS: list[Channel] = [
    Channel(
        name="trust_keys",
        address=topics.TRUST_KEYS,
        model=TrustKeys,
        action="send",
        qos=1,
        retain=True,
        description="The rider-token keys (kid -> Ed25519 key, base64), which also sign device "
        "certificates, the audience tokens must carry, and the control keys a station pins "
        "from now on. Retained, one for every station; a station keeps the newest (version, "
        "then issued_at).",
    ),
    Channel(
        name="trust_denylist",
        address=topics.TRUST_ROOT + "/denylist/{bucket}",
        model=DenylistPage,
        action="send",
        qos=1,
        retain=True,
        description="One bucket of the denylist (rider id -> lowest credential version still "
        "valid), retained, one for every station: a revocation republishes only its rider's "
        "bucket. A station's denylist is the union of every bucket's newest page.",
        parameters={
            "bucket": {"description": "two hex digits, 00-ff: first byte of SHA-256(rider id)"}
        },
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


_BROKER_HOST = {
    "broker": {
        "default": "localhost",
        "description": "the broker's host name (the server's WS_SERVER_STATION_BROKER_HOST)",
    }
}
SERVERS: dict[str, Any] = {
    "stations": {
        "host": "{broker}:8883",
        "protocol": "secure-mqtt",
        "protocolVersion": "5",
        "description": "The stations' listener: TLS, no anonymous clients, the client id "
        "forced to the username; each station may publish and read only its own subtree "
        "(and read the trust pages).",
        "variables": _BROKER_HOST,
        "security": [{"$ref": "#/components/securitySchemes/station_account"}],
    },
    "internal": {
        "host": "{broker}:8884",
        "protocol": "secure-mqtt",
        "protocolVersion": "5",
        "description": "The server's workers (one account, MQTT 5 shared subscriptions) and "
        "the read-only monitor account; not published outside the deployment.",
        "variables": _BROKER_HOST,
        "security": [{"$ref": "#/components/securitySchemes/internal_account"}],
    },
}
SECURITY_SCHEMES: dict[str, Any] = {
    "station_account": {
        "type": "userPassword",
        "description": "username = the station id, password from its provisioning bundle.",
    },
    "internal_account": {
        "type": "userPassword",
        "description": "the server's account (WS_SERVER_BROKER_PASSWORD) or the monitor's "
        "(WS_SERVER_BROKER_MONITOR_PASSWORD), which never reads access requests.",
    },
}


def all_channels() -> list[Channel]:
    return [*STATION_CHANNELS.values(), *TRUST_CHANNELS]


def _operation(channel: Channel) -> dict[str, Any]:
    binding: dict[str, Any] = {"qos": channel.qos, "retain": channel.retain}
    if channel.expiry_s is not None:
        binding["messageExpiryInterval"] = channel.expiry_s
    binding["bindingVersion"] = MQTT_BINDINGS_VERSION
    operation: dict[str, Any] = {
        "action": channel.action,
        "channel": {"$ref": f"#/channels/{channel.name}"},
        "summary": channel.description.split(".")[0] + ".",
        "messages": [{"$ref": f"#/channels/{channel.name}/messages/{channel.model.__name__}"}],
        "bindings": {"mqtt": binding},
    }
    if channel.model is AccessRequest:
        operation["reply"] = {"channel": {"$ref": "#/channels/access_decision"}}
    return operation


def document() -> dict[str, Any]:
    mode: Literal["validation"] = "validation"
    _, schema = models_json_schema(
        [(channel.model, mode) for channel in all_channels()],
        ref_template="#/components/schemas/{model}",
    )
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel in all_channels():
        name = channel.model.__name__
        messages[name] = {
            "name": name,
            "title": name,
            "summary": (channel.model.__doc__ or name).split("\n")[0].strip(),
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
            "headers": _SIGNATURE_HEADERS,
        }
        channels[channel.name] = {
            "address": channel.address,
            "description": channel.description,
            "parameters": channel.parameters,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"{channel.action}_{channel.name}"] = _operation(channel)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Warm Station wire contract",
            "version": "1",
            "description": (
                "MQTT 5 topics between station agents and the central server, seen from the "
                "server. Every payload carries its schema version v; receivers validate, log "
                "and drop what does not validate. Rider tokens are described in "
                "protocol/credential.py, device codes in protocol/device_cert.py. Every "
                "message is signed (protocol/signing.py): by the "
                "station's own key when a station sends it, by the server's control keys when "
                "the server does; the signature travels in the MQTT 5 user property ws-sig and "
                "an unsigned or mis-signed message is dropped unread."
            ),
        },
        "defaultContentType": "application/json",
        "servers": SERVERS,
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": schema["$defs"],
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
