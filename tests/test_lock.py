"""The data-home lock: one writer at a time, released by the OS when its holder dies."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from pipelines.warehouse.lock import DataHomeBusy, data_home_lock, is_locked

HOLD = textwrap.dedent(
    """
    import sys, time
    from pipelines.warehouse.lock import data_home_lock
    with data_home_lock(sys.argv[1], purpose="territoires build (test)"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def hold(lock, seconds: float) -> subprocess.Popen:
    """Another process that takes the lock and keeps it for `seconds`."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(lock), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_writer_is_told_who_holds_the_lock_and_the_os_frees_it_when_the_holder_dies(tmp_path):
    lock = tmp_path / "territoires.lock"
    holder = hold(lock, 60)
    try:
        with pytest.raises(DataHomeBusy, match=rf"process {holder.pid} on .* \(territoires build \(test\)\) since 20"):
            with data_home_lock(lock, wait=False):
                pass
        assert is_locked(lock).pid == holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert is_locked(lock) is None
    with data_home_lock(lock, wait=False) as took:
        assert took


def test_a_waiting_writer_goes_on_once_the_holder_is_done(tmp_path):
    lock = tmp_path / "territoires.lock"
    holder = hold(lock, 1.5)
    waited = []
    with data_home_lock(lock, on_wait=waited.append) as took:
        assert took
        assert holder.wait(timeout=10) == 0  # the holder had let go: it ends on its own
    assert [h.pid for h in waited] == [holder.pid]


def test_the_lock_is_re_entrant_within_one_process(tmp_path):
    lock = tmp_path / "territoires.lock"
    with data_home_lock(lock, purpose="outer") as outer:
        with data_home_lock(lock, wait=False) as inner:  # a run inside a command-line build
            assert outer and not inner
        assert is_locked(lock) is not None
    assert is_locked(lock) is None
