"""The Scoring lab's background jobs: a job made to start later waits for its start."""

from __future__ import annotations

import threading

from dashboard import scoring_jobs as jobs


def test_a_job_made_not_running_starts_once_when_asked() -> None:
    """With run=False the work has not begun after the job is made; run() starts it, a
    second run() does not start it again, and wait() returns once it is done."""
    calls: list[int] = []
    release = threading.Event()

    def work(job: jobs.Job) -> None:
        calls.append(1)
        release.wait(60)
        job.result["x"] = 42

    job = jobs.start(work, "test-job", run=False)
    assert calls == [] and not job.done
    job.run()
    job.run()
    release.set()
    assert job.wait(60)
    assert calls == [1] and job.result == {"x": 42}


def test_wait_starts_a_job_not_started_yet() -> None:
    """wait() on a job made with run=False starts it rather than waiting forever."""
    job = jobs.start(lambda j: j.result.update(done=True), "test-job-2", run=False)
    assert job.wait(60) and job.result == {"done": True}
