"""The coalescing updater: a flood of "changed" becomes few publishes, spaced by the interval;
a failed publish is retried with backoff until it lands."""

from __future__ import annotations

import itertools
import math
import threading
import time

from bot.app.report_updater import ReportUpdater


class Recorder:
    def __init__(self, failures: int = 0) -> None:
        self.times: dict[int, list[float]] = {}
        self.failures = failures
        self.lock = threading.Lock()

    def __call__(self, incident: int) -> None:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise OSError("Slack is down")
            self.times.setdefault(incident, []).append(time.monotonic())


def test_ten_thousand_touches_are_coalesced_and_spaced() -> None:
    recorder = Recorder()
    updater = ReportUpdater(recorder, min_interval=0.2, global_interval=0.0)
    updater.start()
    started = time.monotonic()

    def storm(incident: int) -> None:
        for _ in range(2500):
            updater.touch(incident)
            time.sleep(0.0004)

    threads = [threading.Thread(target=storm, args=(n % 2,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert updater.idle(5)
    span = time.monotonic() - started
    updater.stop()
    for incident in (0, 1):
        times = recorder.times[incident]
        assert len(times) <= math.ceil(span / 0.2) + 1, (len(times), span)
        assert all(b - a >= 0.2 * 0.95 for a, b in itertools.pairwise(times))
    assert sum(len(t) for t in recorder.times.values()) >= 2


def test_the_last_change_is_always_published() -> None:
    recorder = Recorder()
    updater = ReportUpdater(recorder, min_interval=0.3, global_interval=0.0)
    updater.start()
    updater.touch(5)
    time.sleep(0.05)
    last_touch = time.monotonic()
    updater.touch(5)  # inside the interval: must still be published, later
    assert updater.idle(5)
    updater.stop()
    assert len(recorder.times[5]) == 2 and recorder.times[5][-1] >= last_touch


def test_failures_are_retried_until_published() -> None:
    recorder = Recorder(failures=3)
    updater = ReportUpdater(recorder, min_interval=0.01, global_interval=0.0)
    updater.start()
    updater.touch(9)
    assert updater.idle(10)
    updater.stop()
    assert len(recorder.times[9]) == 1 and recorder.failures == 0


def test_an_urgent_touch_skips_the_incident_interval_not_the_global_spacing() -> None:
    recorder = Recorder()
    updater = ReportUpdater(recorder, min_interval=30.0, global_interval=0.3)
    updater.start()
    updater.touch(1)
    assert updater.idle(5)
    updater.touch(1)  # an ordinary change: waits for the incident's 30 s
    updater.touch(1, urgent=True)  # the diagnosis's first result: only the global spacing
    assert updater.idle(5)
    updater.stop()
    first, second = recorder.times[1]
    assert second - first >= 0.3 * 0.95


def test_a_held_back_publish_costs_no_interval() -> None:
    calls: list[float] = []

    def publish(incident: int) -> bool:
        calls.append(time.monotonic())
        return len(calls) > 1  # the first post is held back once (nothing sent)

    updater = ReportUpdater(publish, min_interval=30.0, global_interval=30.0)
    updater.start()
    updater.touch(3)
    assert updater.idle(5)
    updater.touch(3)  # sent at once: the held publish spent neither interval
    assert updater.idle(5)
    updater.stop()
    assert len(calls) == 2 and updater.published == 1
