"""What the server tells the station to be: its config (keys, audience, denylist, mode,
lockdown) and staff commands (remote unlock, lockdown and its release, set mode).

A config older than the one applied, or for another station, or with a key that does not
parse, is ignored. A command is checked by ``core/commands.py`` (addressed here, not retained,
valid now, complete, never twice) and every one addressed to this station is answered with a
``command_done`` or ``command_refused`` event, so the server's audit shows what was done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from protocol.credential import public_key_from_text
from protocol.payloads import CommandKind, EventKind, Passage, StationCommand, StationConfig
from station_agent.config import AgentSettings
from station_agent.core.commands import Command, accept_command
from station_agent.core.scan import StationView
from station_agent.doorway import Doorway
from station_agent.outbox import OutboxSender
from station_agent.ports import Store
from station_agent.state import AgentState
from station_agent.trust import PinnedKeys

log = logging.getLogger(__name__)


class Control:
    def __init__(
        self,
        settings: AgentSettings,
        state: AgentState,
        *,
        outbox: OutboxSender,
        doorway: Doorway,
        pinned: PinnedKeys,
        store: Store,
    ) -> None:
        self._settings = settings
        self._station_id = settings.station_id
        self._state = state
        self._outbox = outbox
        self._doorway = doorway
        self._pinned = pinned
        self._store = store
        self._seen_commands: Mapping[str, float] = {}  # command id -> its expiry

    # -- config ------------------------------------------------------------------------
    def on_config(self, config: StationConfig, now: float) -> None:
        view = self._state.view
        if config.station_id != self._station_id:
            log.warning("%s: ignored config addressed to %s", self._station_id, config.station_id)
            return
        if view is not None and config.config_version < view.config_version:
            log.info("%s: ignored older config v%d", self._station_id, config.config_version)
            return
        try:
            keys = {kid: public_key_from_text(text) for kid, text in config.keys.items()}
        except ValueError as exc:
            log.warning("%s: rejected config v%d: %s", self._station_id, config.config_version, exc)
            return
        self._state.view = StationView(
            station_id=self._station_id,
            audience=config.audience,
            keys=keys,
            config_version=config.config_version,
            issued_at=config.issued_at.timestamp(),
            denylist=dict(config.denylist),
            skew_s=self._settings.clock_skew_s,
        )
        self._state.mode = config.mode
        self._set_lockdown(config.lockdown, now)
        self._pin(config)
        log.info("%s: config v%d applied", self._station_id, config.config_version)

    def _pin(self, config: StationConfig) -> None:
        """The control keys a verified config announces are the ones to trust from now on
        (kept across restarts): a key rotation reaches the station without a visit."""
        if not config.control_keys or dict(config.control_keys) == dict(self._pinned.text):
            return
        try:
            self._pinned.replace(config.control_keys)
        except ValueError as exc:
            log.warning("%s: kept the pinned control keys: %s", self._station_id, exc)
            return
        self._store.pin_control_keys(config.control_keys)
        log.info("%s: pinned control keys %s", self._station_id, sorted(config.control_keys))

    def _set_lockdown(self, on: bool, now: float) -> None:
        if on and not self._state.lockdown:
            self._doorway.relock(now)
        self._state.lockdown = on

    # -- commands ----------------------------------------------------------------------
    def on_command(self, command: StationCommand, retained: bool, now: float) -> None:
        check = accept_command(
            Command(
                command_id=command.command_id,
                station_id=command.station_id,
                kind=command.kind,
                issued_at=command.issued_at.timestamp(),
                expires_at=command.expires_at.timestamp(),
                issued_by=command.issued_by,
                reason=command.reason,
                mode=command.mode,
            ),
            station_id=self._station_id,
            retained=retained,
            now=now,
            seen=self._seen_commands,
        )
        self._seen_commands = check.seen
        if check.refusal is not None:
            log.warning("%s: refused command %s: %s", self._station_id, command.kind, check.refusal)
            if command.station_id == self._station_id:  # never answer for another station
                self._refused(command, now, f"{command.kind.value}: {check.refusal.value}")
            return
        if command.kind is CommandKind.REMOTE_UNLOCK:
            if self._state.lockdown:
                self._refused(command, now, "remote_unlock: station in lockdown")
                return
            self._doorway.release(Passage.ENTRY, now)
        elif command.kind is CommandKind.LOCKDOWN:
            self._set_lockdown(True, now)
        elif command.kind is CommandKind.LOCKDOWN_RELEASE:
            self._set_lockdown(False, now)
        elif command.mode is not None:
            self._state.mode = command.mode
        self._outbox.emit(
            EventKind.COMMAND_DONE,
            now,
            command_id=command.command_id,
            detail=f"{command.kind.value} by {command.issued_by}: {command.reason}",
        )

    def _refused(self, command: StationCommand, now: float, detail: str) -> None:
        self._outbox.emit(
            EventKind.COMMAND_REFUSED, now, command_id=command.command_id, detail=detail
        )
