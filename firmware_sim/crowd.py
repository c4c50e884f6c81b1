"""Simulated riders: each fetches a code from their own rider link on the server (as the rider
page does), walks to a station, shows it, rests inside, and leaves by the exit button.
Pranksters show codes that must not open the door."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from firmware_sim.phone import render_qr_png
from firmware_sim.rider import enter, leave
from firmware_sim.station import SimStation

PRANK_CODES = ("https://example.com/free-wifi", "BEGIN:VCARD\nFN:Nobody\nEND:VCARD")
_BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@dataclass
class SimRider:
    link: str
    prankster: bool = False
    visits: int = 0
    refused: int = 0
    thread: threading.Thread | None = field(default=None, repr=False)


def tampered(token: str, rng: random.Random) -> str:
    """The same token with one character of its signature changed."""
    at = rng.randrange(len(token) - 40, len(token))
    replacement = rng.choice([c for c in _BASE45 if c != token[at]])
    return token[:at] + replacement + token[at + 1 :]


class RiderCrowd:
    """``pace()`` says how busy the day is now (1: a rush; less: riders come less often);
    ``haunts(i)`` the indices of the stations rider ``i`` works around (default: all)."""

    def __init__(
        self,
        *,
        base_url: str,
        stations: list[SimStation],
        seed: int,
        rest_s: tuple[float, float],
        pace: Callable[[], float] = lambda: 1.0,
        haunts: Callable[[int], Sequence[int]] | None = None,
    ) -> None:
        self._base_url = base_url
        self._stations = stations
        self._seed = seed
        self._rest_s = rest_s
        self._pace = pace
        self._haunts = haunts
        self.stop = threading.Event()
        self.riders: list[SimRider] = []

    def add(self, links: list[str], pranksters: int = 0) -> None:
        """Riders with these personal links; the first ``pranksters`` of them misbehave."""
        for i, link in enumerate(links):
            self.riders.append(SimRider(link, prankster=i < pranksters))

    def start(self) -> None:
        for i, rider in enumerate(self.riders):
            haunts = self._haunts(i) if self._haunts else range(len(self._stations))
            rider.thread = threading.Thread(
                target=self._live,
                args=(
                    rider,
                    random.Random(self._seed * 1000 + i),
                    [self._stations[j] for j in haunts],
                ),
                name=f"rider-{i}",
                daemon=True,
            )
            rider.thread.start()

    def join(self, timeout_s: float) -> None:
        self.stop.set()
        for rider in self.riders:
            if rider.thread is not None:
                rider.thread.join(timeout_s)

    def _screen(self, http: httpx.Client, rider: SimRider, rng: random.Random) -> bytes:
        if rider.prankster and rng.random() < 0.5:
            return render_qr_png(rng.choice(PRANK_CODES))
        if rider.prankster:
            token = http.get(f"{rider.link}/token").raise_for_status().json()["token"]
            return render_qr_png(tampered(token, rng))
        return http.get(f"{rider.link}/qr.png").raise_for_status().content

    @property
    def visits(self) -> int:
        return sum(rider.visits for rider in self.riders)

    def _live(self, rider: SimRider, rng: random.Random, haunts: list[SimStation]) -> None:
        pause = self.stop.wait
        pause(rng.uniform(0, 3))  # riders do not all arrive in the same second
        with httpx.Client(base_url=self._base_url, timeout=10) as http:
            while not self.stop.is_set():
                station = rng.choice(haunts)
                try:
                    screen = self._screen(http, rider, rng)
                except httpx.HTTPError:
                    pause(1.0)  # the phone has no signal; try again
                    continue
                shown = enter(
                    station, screen, rng, lambda s: None if self.stop.is_set() else pause(s)
                )
                if shown is not None and shown.allowed:
                    rider.visits += 1
                    pause(rng.uniform(*self._rest_s))
                    leave(station, rng, lambda s: None)  # everyone inside leaves, even at the end
                else:
                    rider.refused += 1
                pause(rng.uniform(1.0, 4.0) / max(0.05, self._pace()))  # busy hours: sooner
