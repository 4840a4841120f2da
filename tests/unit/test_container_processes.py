"""A container process's bookkeeping: failing output pumps are reported, leftovers are reaped off the loop."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
from pathlib import Path

import pytest

from kfval.embedded.clock import SystemClock
from kfval.embedded.kubelet import processes, reaping
from kfval.embedded.kubelet.containers import LogSink, Stream


async def _broken_pump(stream: asyncio.StreamReader, name: Stream, sink: LogSink) -> None:
    raise OSError(f"cannot read {name}")


def test_a_failing_log_pump_is_logged_and_the_exit_code_still_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(processes, "pump", _broken_pump)

    async def main() -> int:
        started = await asyncio.create_subprocess_exec(
            "sh", "-c", "echo hi; exit 3", stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        container = processes.ContainerProcess(
            started,
            lambda stream, line: None,
            registry=processes.PidRegistry(None),
            cgroup=None,
            wrapped=False,
            clock=SystemClock(),
        )
        return await container.wait()

    with caplog.at_level(logging.ERROR, logger="kfval.embedded.kubelet.processes"):
        assert asyncio.run(main()) == 3
    failures = [r for r in caplog.records if "log misses output" in r.getMessage()]
    assert len(failures) == 2
    assert all(isinstance(r.exc_info[1], OSError) for r in failures if r.exc_info)


def test_reap_does_the_blocking_work_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = reaping.kill_recorded

    def recording(pid_file: Path) -> reaping.Killed:
        threads.append(threading.get_ident())
        return real(pid_file)

    monkeypatch.setattr(reaping, "kill_recorded", recording)

    async def main() -> tuple[reaping.Reaped, int]:
        return await reaping.reap(tmp_path, SystemClock()), threading.get_ident()

    reaped, loop_thread = asyncio.run(main())
    assert reaped.process_groups == ()
    assert threads and threads[0] != loop_thread
