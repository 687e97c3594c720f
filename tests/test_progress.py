"""Progress: log lines with counts and an ETA when stdout is not a terminal."""

from __future__ import annotations

import io
import time

from slrt_ml.pipeline.progress import LogProgress, NoProgress, duration, progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_log_lines_count_folds_and_give_an_eta():
    out, clock = io.StringIO(), FakeClock()
    with LogProgress(out, interval=3600, clock=clock) as bar:
        task = bar.add_task("gbm      folds + final fit", total=6)  # padded as train does
        clock.now = 30
        bar.advance(task, 2)
        bar.tick()  # what the timer does every interval
        clock.now = 90
        for _ in range(4):
            bar.advance(task)
    lines = out.getvalue().splitlines()
    assert lines == [
        "[progress] gbm folds + final fit: 0/6 done, 0 s elapsed",
        "[progress] gbm folds + final fit: 2/6 done, 30 s elapsed, ETA 1 min 00 s",
        "[progress] gbm folds + final fit: 6/6 done in 1 min 30 s",
    ]


def test_unknown_total_reports_households_and_rate_and_a_final_count():
    out, clock = io.StringIO(), FakeClock()
    with LogProgress(out, interval=3600, unit="households", clock=clock) as bar:
        task = bar.add_task("scoring")
        clock.now = 10
        bar.advance(task, 5000)
    assert out.getvalue().splitlines()[-1] == (
        "[progress] scoring: 5,000 households done, 10 s elapsed, 500 households/s"
    )


def test_the_timer_writes_while_a_long_step_runs():
    out = io.StringIO()
    with LogProgress(out, interval=0.05) as bar:
        bar.add_task("mlp folds", total=3)
        time.sleep(0.3)  # one fold that takes longer than the interval
    assert out.getvalue().count("0/3 done") >= 3


def test_a_stream_that_is_not_a_terminal_gets_log_lines_and_off_gets_nothing():
    assert isinstance(progress(True, stream=io.StringIO()), LogProgress)
    assert isinstance(progress(False), NoProgress)


def test_duration():
    assert [duration(s) for s in (0, 59.4, 60, 3599, 7260)] == [
        "0 s", "59 s", "1 min 00 s", "59 min 59 s", "2 h 01 min"
    ]  # fmt: skip
