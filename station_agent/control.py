"""What the server tells the station to be: its config (mode, lockdown), the trust pages
every station shares (keys and audience; the denylist, one page per bucket) and staff commands
(remote unlock, lockdown and its release, set mode).

A config older than the one applied or for another station is ignored; so is a trust page not
newer than the one held, or with a key that does not parse. Pages and configs the transport
dropped (bad signature, invalid) are remembered and named in the heartbeat until a good copy
comes. Verified trust pages and the station's own config are kept in the store, so a box
restarted while the server is out of reach still checks codes, and still keeps its lockdown
or maintenance mode (a door that reopens on a power cut would undo staff's decision).

A command is checked by ``core/commands.py`` (addressed here, not retained,
valid now, complete, never twice) and every one addressed to this station is answered with a
``command_done`` or ``command_refused`` event, so the server's audit shows what was done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from protocol.details import Shape, write
from protocol.payloads import (
    CommandKind,
    DenylistPage,
    EventKind,
    Passage,
    PayloadError,
    StationCommand,
    StationConfig,
    TrustKeys,
    TrustPage,
    dump,
    parse,
)
from protocol.topics import TrustTopic
from protocol.trust import PageStamp, is_newer, stamp
from station_agent.config import AgentSettings
from station_agent.core.commands import Command, accept_command
from station_agent.core.denylist import BucketPage
from station_agent.core.scan import StationView
from station_agent.doorway import Doorway
from station_agent.outbox import OutboxSender
from station_agent.ports import Store
from station_agent.state import AgentState
from station_agent.trust import PinnedKeys, parse_keys

log = logging.getLogger(__name__)

KEEP_REISSUE_EVERY_S = 3600.0


def _page_name(page: TrustPage) -> str:
    return TrustTopic(None if isinstance(page, TrustKeys) else page.bucket).name


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
        self._kept: dict[str, PageStamp] = {}  # trust page -> the stamp last written to the store
        self._kept_config: bytes | None = store.station_config()

    # -- config ------------------------------------------------------------------------
    def restore_config(self, now: float) -> None:
        """At start: the config kept from the last run (verified when it came)."""
        payload = self._store.station_config()
        if payload is None:
            return
        try:
            config = parse(StationConfig, payload)
        except PayloadError as exc:
            log.warning("%s: ignored the kept config: %s", self._station_id, exc)
            return
        self._apply_config(config, now)

    def on_config(self, config: StationConfig, now: float) -> None:
        """The station's own rules (mode, lockdown), when not older than those applied; kept
        in the store when they changed."""
        if not self._apply_config(config, now):
            return
        self._state.config_errors.pop("config", None)
        payload = dump(config)
        if payload != self._kept_config:
            self._store.save_station_config(payload)
            self._kept_config = payload

    def _apply_config(self, config: StationConfig, now: float) -> bool:
        if config.station_id != self._station_id:
            log.warning("%s: ignored config addressed to %s", self._station_id, config.station_id)
            return False
        if config.config_version < self._state.config_version:
            log.info("%s: ignored older config v%d", self._station_id, config.config_version)
            return False
        changed = (config.mode, config.lockdown) != (self._state.mode, self._state.lockdown)
        self._state.config_version = config.config_version
        self._state.mode = config.mode
        self._set_lockdown(config.lockdown, now)
        log.info(
            "%s: config v%d applied%s",
            self._station_id,
            config.config_version,
            f" (mode {config.mode.value}, lockdown {config.lockdown})" if changed else "",
        )
        return True

    def on_dropped(self, page: str, why: str) -> None:
        """Said in every heartbeat until a good copy of the same page comes."""
        self._state.config_errors[page] = why

    # -- trust pages (keys, denylist buckets: the same for every station) ----------------
    def restore_trust(self) -> None:
        """At start: the pages kept from the last run (verified when they came)."""
        for name, payload in sorted(self._store.trust_pages().items()):
            try:
                page: TrustPage = (
                    parse(TrustKeys, payload) if name == "keys" else parse(DenylistPage, payload)
                )
            except PayloadError as exc:
                log.warning("%s: ignored kept trust page %s: %s", self._station_id, name, exc)
                continue
            self._apply(page, persist=False)

    def on_trust(self, page: TrustPage) -> None:
        if self._apply(page, persist=True):
            self._state.config_errors.pop(_page_name(page), None)

    def _apply(self, page: TrustPage, *, persist: bool) -> bool:
        """True when the page is newer than the one held and is now applied."""
        name = _page_name(page)
        if isinstance(page, TrustKeys):
            held = self._state.trust_keys
            if held is not None and not is_newer(stamp(page), stamp(held)):
                return False
            try:
                parse_keys(page.keys)
            except ValueError as exc:
                self.on_dropped(name, str(exc)[:80])
                return False
            self._state.trust_keys = page
            self._pin(page.control_keys)
        else:
            denylist = self._state.denylist.with_page(
                page.bucket, BucketPage(stamp(page), dict(page.denylist))
            )
            if denylist is None:
                return False
            self._state.denylist = denylist
        if not persist:
            self._kept[name] = stamp(page)
        elif self._worth_keeping(name, page):
            self._store.save_trust_page(name, dump(page))
        self._rebuild_view()
        return True

    def _worth_keeping(self, name: str, page: TrustPage) -> bool:
        """A new version always; a re-issue of the same one hourly (it only refreshes
        ``issued_at``): 256 committed writes every few minutes would wear an SD card."""
        kept = self._kept.get(name)
        fresh = stamp(page)
        if (
            kept is not None
            and kept.version == fresh.version
            and fresh.issued_at - kept.issued_at < KEEP_REISSUE_EVERY_S
        ):
            return False
        self._kept[name] = fresh
        return True

    def _rebuild_view(self) -> None:
        keys_page = self._state.trust_keys
        if keys_page is None:
            return
        denylist = self._state.denylist
        self._state.view = StationView(
            station_id=self._station_id,
            audience=keys_page.audience,
            keys=parse_keys(keys_page.keys),
            config_version=keys_page.version,
            issued_at=denylist.fresh_as_of,
            denylist=denylist,
            skew_s=self._settings.clock_skew_s,
        )

    def _pin(self, control_keys: Mapping[str, str]) -> None:
        """The control keys a verified keys page announces are the ones to trust from now on
        (kept across restarts): a key rotation reaches the station without a visit."""
        if dict(control_keys) == dict(self._pinned.text):
            return
        try:
            self._pinned.replace(control_keys)
        except ValueError as exc:
            log.warning("%s: kept the pinned control keys: %s", self._station_id, exc)
            return
        self._store.pin_control_keys(control_keys)
        log.info("%s: pinned control keys %s", self._station_id, sorted(control_keys))

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
                self._refused(command, now, check.refusal.value)
            return
        if command.kind is CommandKind.REMOTE_UNLOCK:
            if self._state.lockdown:
                self._refused(command, now, "station in lockdown")
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
            detail=write(
                Shape.COMMAND_DONE,
                command=command.kind.value,
                by=command.issued_by,
                reason=command.reason,
            ),
        )

    def _refused(self, command: StationCommand, now: float, refusal: str) -> None:
        detail = write(Shape.COMMAND_REFUSED, command=command.kind.value, refusal=refusal)
        self._outbox.emit(
            EventKind.COMMAND_REFUSED, now, command_id=command.command_id, detail=detail
        )
