"""The outbox sender: every event is committed to the local store first, then sent to the server
in order, and leaves the store only when the server has acknowledged storing it.

The drain sends the oldest unacknowledged events a window at a time and sends again what has
waited longer than the resend interval, or at once after a reconnect or when the server names
a gap. An acknowledgement names exact seqs; one for another station or epoch, or naming a seq
never sent, is ignored whole.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from protocol.payloads import EventKind, EventsAck, StationEvent
from station_agent.ports import Store, Transport

log = logging.getLogger(__name__)


class OutboxSender:
    def __init__(
        self, station_id: str, store: Store, transport: Transport, *, window: int, resend_s: float
    ) -> None:
        self.station_id = station_id
        self._store = store
        self._transport = transport
        self._window = window
        self._resend_s = resend_s
        self.events_emitted = 0  # by this process
        self.highest_sent = 0  # the highest seq ever published, in this store's epoch
        self._in_flight: dict[int, float] = {}  # outbox seq -> when it was last sent
        self._drain_needed = True

    @property
    def depth(self) -> int:
        """Events not yet acknowledged by the server."""
        return self._store.depth()

    # -- into the store ----------------------------------------------------------------
    def emit(self, kind: EventKind, at: float, **fields: object) -> None:
        """Number the event and commit it to the outbox."""
        self._store.append_event(lambda epoch, seq: self._event(epoch, seq, kind, at, **fields))
        self._appended()

    def emit_grant(self, nonce: bytes, expires_at: float, at: float, **fields: object) -> None:
        """An ``access_granted`` event (it names the token's nonce, so the server can refuse
        the code everywhere after) and the nonce in the replay cache until ``expires_at``,
        committed in one transaction: call before the lock moves."""

        def build(epoch: str, seq: int) -> StationEvent:
            kind = EventKind.ACCESS_GRANTED
            return self._event(epoch, seq, kind, at, nonce=nonce.hex(), **fields)

        self._store.record_grant(nonce, expires_at, at, build)
        self._appended()

    def _event(
        self, epoch: str, seq: int, kind: EventKind, at: float, **fields: object
    ) -> StationEvent:
        return StationEvent.model_validate(
            {
                "event_id": uuid.uuid4().hex,
                "station_id": self.station_id,
                "epoch": epoch,
                "seq": seq,
                "kind": kind,
                "occurred_at": datetime.fromtimestamp(at, UTC),
                **fields,
            }
        )

    def _appended(self) -> None:
        self.events_emitted += 1
        self._drain_needed = True

    # -- out to the server -------------------------------------------------------------
    def drain(self, now: float) -> None:
        """Send the oldest unacknowledged events, in order, a window at a time. Call only while
        the link is up."""
        resend_before = now - self._resend_s
        if any(sent_at < resend_before for sent_at in self._in_flight.values()):
            self._in_flight = {s: t for s, t in self._in_flight.items() if t >= resend_before}
            self._drain_needed = True
        if not self._drain_needed:
            return
        self._drain_needed = False
        for seq, payload in self._store.pending(limit=self._window):
            if seq in self._in_flight:
                continue
            self._transport.publish_event(payload)
            self._in_flight[seq] = now
            self.highest_sent = max(self.highest_sent, seq)

    def link_changed(self) -> None:
        """Connected or lost: whatever was in flight goes again at the next drain."""
        self._in_flight.clear()
        self._drain_needed = True

    def on_ack(self, ack: EventsAck) -> None:
        if ack.station_id != self.station_id or ack.epoch != self._store.epoch:
            log.warning("%s: ignored an acknowledgement for another stream", self.station_id)
            return
        named = list(ack.acked) + [seq for pair in ack.missing for seq in pair]
        if any(seq > self.highest_sent for seq in named):
            # The server cannot have stored what we never sent: trust none of this message.
            log.warning("%s: ignored an acknowledgement ahead of what was sent", self.station_id)
            return
        self._store.acknowledge(ack.acked)
        for seq in ack.acked:
            self._in_flight.pop(seq, None)
        for first, last in ack.missing:  # the server noticed a gap: send those again now
            for seq in list(self._in_flight):
                if first <= seq <= last:
                    del self._in_flight[seq]
        self._drain_needed = True
