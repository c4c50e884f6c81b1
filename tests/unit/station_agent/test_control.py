"""Commands, config and trust pages through the agent's loop: each command acts at most once
and is answered; a config or trust page applies when it is not older than the one the station
has; what was dropped is said in the heartbeat."""

from __future__ import annotations

import pytest

from firmware_sim.display import Shown
from protocol.payloads import CommandKind, EventKind, StationMode
from protocol.reasons import Reason
from protocol.signing import SigningKey
from station_agent.inbox import CommandArrived, ConfigArrived, ConfigDropped, TrustArrived
from tests.unit.station_agent.rig import (
    CONTROL,
    KID,
    NOW,
    Rig,
    command,
    config,
    configure,
    keys_page,
    token,
)


def _answers(rig: Rig) -> list[tuple[EventKind, str | None]]:
    return [
        (event.kind, event.detail)
        for event in rig.events(EventKind.COMMAND_DONE, EventKind.COMMAND_REFUSED)
    ]


def test_a_remote_unlock_is_done_once_and_answered() -> None:
    rig = Rig.build()
    unlock = command(CommandKind.REMOTE_UNLOCK)

    rig.send(unlock)
    assert rig.lock.unlocked
    [done] = rig.events(EventKind.COMMAND_DONE)
    assert done.command_id == unlock.command.command_id
    assert done.detail == "remote_unlock by staff-wang: test"

    rig.turn(rig.settings.unlock_s + 0.1)
    assert not rig.lock.unlocked
    rig.send(unlock)  # the same command again: a replayed message
    assert rig.lock.unlock_count == 1
    assert _answers(rig)[-1] == (EventKind.COMMAND_REFUSED, "remote_unlock: repeated")


@pytest.mark.parametrize(
    ("arrived", "detail"),
    [
        (command(CommandKind.REMOTE_UNLOCK, retained=True), "remote_unlock: retained"),
        (command(CommandKind.REMOTE_UNLOCK, now=NOW - 60), "remote_unlock: expired"),
        (command(CommandKind.REMOTE_UNLOCK, expires_in_s=600), "remote_unlock: too_far_ahead"),
        (command(CommandKind.SET_MODE), "set_mode: incomplete"),  # which mode?
    ],
    ids=["retained", "expired", "too far ahead", "incomplete"],
)
def test_a_command_refused_does_nothing_and_is_answered(
    arrived: CommandArrived, detail: str
) -> None:
    rig = Rig.build()
    rig.send(arrived)

    assert rig.lock.unlock_count == 0
    assert rig.agent.mode is StationMode.NORMAL
    assert _answers(rig) == [(EventKind.COMMAND_REFUSED, detail)]


def test_a_command_for_another_station_is_not_even_answered() -> None:
    rig = Rig.build()
    rig.send(command(CommandKind.REMOTE_UNLOCK, station_id="station-02"))
    assert rig.lock.unlock_count == 0
    assert rig.events() == []


def test_lockdown_relocks_and_refuses_everyone_until_released() -> None:
    rig = Rig.build()
    rig.exit_button.press()
    rig.turn()
    assert rig.lock.unlocked  # someone on the way out

    rig.send(command(CommandKind.LOCKDOWN))
    assert rig.agent.lockdown
    assert not rig.lock.unlocked
    rig.send(command(CommandKind.REMOTE_UNLOCK))
    text, _ = token()
    rig.scan(text)  # the server is asked only for the rider's next step, and does not answer
    rig.turn(rig.settings.decision_timeout_s + 0.1)
    assert rig.lock.unlock_count == 1
    assert rig.shown == [Shown(allowed=False, reason=Reason.LOCKDOWN)]

    rig.send(command(CommandKind.LOCKDOWN_RELEASE))
    assert not rig.agent.lockdown
    rig.send(command(CommandKind.REMOTE_UNLOCK))
    assert rig.lock.unlock_count == 2
    assert _answers(rig) == [
        (EventKind.COMMAND_DONE, "lockdown by staff-wang: test"),
        (EventKind.COMMAND_REFUSED, "remote_unlock: station in lockdown"),
        (EventKind.COMMAND_DONE, "lockdown_release by staff-wang: test"),
        (EventKind.COMMAND_DONE, "remote_unlock by staff-wang: test"),
    ]


def test_set_mode_changes_what_the_door_does() -> None:
    rig = Rig.build()
    rig.send(command(CommandKind.SET_MODE, mode=StationMode.MAINTENANCE))

    assert rig.agent.mode is StationMode.MAINTENANCE
    text, _ = token()
    rig.scan(text)
    rig.turn(rig.settings.decision_timeout_s + 0.1)
    assert rig.shown == [Shown(allowed=False, reason=Reason.MAINTENANCE)]
    assert _answers(rig) == [(EventKind.COMMAND_DONE, "set_mode by staff-wang: test")]


def test_a_newer_config_is_applied_and_an_older_one_ignored() -> None:
    rig = Rig.build()
    assert rig.agent.state.config_version == 1

    rig.send(ConfigArrived(config(3, mode=StationMode.FREE_ENTRY)))
    assert rig.agent.state.config_version == 3
    assert rig.agent.mode is StationMode.FREE_ENTRY

    rig.send(ConfigArrived(config(2, mode=StationMode.MAINTENANCE)))
    assert rig.agent.mode is StationMode.FREE_ENTRY


def test_a_newer_trust_page_is_applied_and_an_older_one_ignored() -> None:
    rig = Rig.build()
    view = rig.agent.state.view
    assert view is not None
    assert (view.config_version, dict(view.denylist)) == (1, {})

    rig.send(*configure(3, denylist={"r-9": 2}))
    view = rig.agent.state.view
    assert view is not None
    assert (view.config_version, dict(view.denylist)) == (3, {"r-9": 2})

    # An older page (a stale retained copy, a replay) never brings a revoked rider back.
    rig.send(*configure(2))
    assert rig.agent.state.view is view

    # The same version issued again later: a fresher denylist, so offline entry stays on.
    rig.send(*configure(3, issued_at=NOW + 300, denylist={"r-9": 2}))
    view = rig.agent.state.view
    assert view is not None
    assert view.issued_at == NOW + 300


def test_a_config_for_another_station_is_ignored() -> None:
    rig = Rig.build()
    rig.send(ConfigArrived(config(5, station_id="station-02", lockdown=True)))
    assert (rig.agent.state.config_version, rig.agent.lockdown) == (1, False)


def test_a_keys_page_with_a_key_that_does_not_parse_is_ignored_and_reported() -> None:
    rig = Rig.build()
    before = rig.agent.state.view
    rig.send(TrustArrived(keys_page(5, keys={KID: "not a key"})))
    assert rig.agent.state.view is before
    assert rig.heartbeat().config_error is not None
    assert rig.heartbeat().config_error.startswith("keys: ")  # type: ignore[union-attr]
    rig.send(TrustArrived(keys_page(6)))  # a good page clears it
    assert rig.heartbeat().config_error is None


def test_a_dropped_page_is_named_in_the_heartbeat_until_a_good_one_comes() -> None:
    rig = Rig.build()
    rig.send(ConfigDropped("denylist/07", "bad_signature"))
    assert rig.heartbeat().config_error == "denylist/07: bad_signature"
    rig.send(*configure(2))
    assert rig.heartbeat().config_error is None


def test_verified_trust_pages_are_kept_and_restored_at_the_next_start() -> None:
    rig = Rig.build()
    rig.send(*configure(2, denylist={"r-9": 2}))
    assert set(rig.store.kept_pages) == {"keys"} | {f"denylist/{b:02x}" for b in range(256)}
    # A re-issue of the same version is not written again within the hour (SD card wear).
    rig.store.kept_pages.clear()
    rig.send(*configure(2, issued_at=NOW + 300, denylist={"r-9": 2}))
    assert rig.store.kept_pages == {}
    rig.send(*configure(2, issued_at=NOW + 3_700, denylist={"r-9": 2}))
    assert len(rig.store.kept_pages) == 257

    restarted = Rig.build(configured=False, store=rig.store)
    view = restarted.agent.state.view
    assert view is not None
    assert (dict(view.denylist), view.issued_at) == ({"r-9": 2}, NOW + 3_700)


def test_a_config_in_lockdown_relocks_the_door() -> None:
    rig = Rig.build()
    rig.exit_button.press()
    rig.turn()
    assert rig.lock.unlocked

    rig.send(ConfigArrived(config(2, lockdown=True)))

    assert rig.agent.lockdown
    assert not rig.lock.unlocked
    assert rig.events(EventKind.COMMAND_DONE) == []  # a config is not a command: no answer


def test_a_keys_page_announcing_control_keys_pins_them_across_restarts() -> None:
    """A control key rotation reaches the station under the old key, no site visit."""
    rig = Rig.build()
    successor = SigningKey.generate()
    keys = {CONTROL.kid: CONTROL.public_key_text, successor.kid: successor.public_key_text}
    rig.send(TrustArrived(keys_page(3, control_keys=keys)))
    assert dict(rig.agent.pinned.text) == keys
    assert rig.store.pinned_control_keys() == keys
    # An older keys page cannot move the pins back.
    rig.send(TrustArrived(keys_page(2)))
    assert dict(rig.agent.pinned.text) == keys


def test_control_keys_that_do_not_parse_leave_the_pins_alone() -> None:
    rig = Rig.build()
    before = dict(rig.agent.pinned.text)
    rig.send(TrustArrived(keys_page(3, control_keys={"bad": "not-a-key"})))
    assert dict(rig.agent.pinned.text) == before
    assert rig.store.pinned_control_keys() is None


def test_the_config_is_kept_so_a_restart_offline_keeps_the_mode_and_lockdown() -> None:
    rig = Rig.build()
    rig.send(ConfigArrived(config(2, mode=StationMode.MAINTENANCE, lockdown=True)))
    assert (rig.agent.mode, rig.agent.lockdown) == (StationMode.MAINTENANCE, True)

    # Restarted with no link to the broker: the kept config (and trust pages) still rule.
    restarted = Rig.build(connected=False, configured=False, store=rig.store)
    assert (restarted.agent.mode, restarted.agent.lockdown) == (StationMode.MAINTENANCE, True)
    assert restarted.agent.state.config_version == 2
    assert restarted.agent.state.standing_refusal() is Reason.LOCKDOWN
    restarted.send(ConfigArrived(config(1)))  # an older config still changes nothing
    assert restarted.agent.lockdown


def test_a_kept_config_that_no_longer_parses_is_ignored() -> None:
    rig = Rig.build()
    rig.store.kept_config = b'{"v": 1, "station_id": "elsewhere"'
    restarted = Rig.build(connected=False, configured=False, store=rig.store)
    assert (restarted.agent.mode, restarted.agent.lockdown) == (StationMode.NORMAL, False)


def test_a_config_is_written_to_the_store_only_when_it_changed() -> None:
    rig = Rig.build()
    first = rig.store.kept_config
    assert first is not None
    rig.send(ConfigArrived(config(1)))  # the same config again (a birth): nothing to write
    assert rig.store.kept_config is first
    rig.send(ConfigArrived(config(3, mode=StationMode.FREE_ENTRY)))
    assert rig.store.kept_config != first
