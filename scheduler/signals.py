"""What the engine announces; apps above it (webhooks, the console) subscribe in their
AppConfig.ready(). The engine imports none of its listeners.

Each signal is sent synchronously, in the sender's transaction, with keyword arguments only:

- `run_started(run)`: a run was opened (once, by whoever created it).
- `run_closed(run)`: a run was closed (once), with its final status and counts.
- `schedule_updated(job_id, before, after, source, changed_by, changed_at)`: a job's schedule
  changed (one audit row).
- `scheduler_switched(enabled, schedules)`: the schedules were paused (False) or resumed (True)
  and at least one changed.
- `watchdog_passed()`: a cluster's main process made a watchdog pass (after the runs' work); a
  receiver's failure is logged and does not stop the others.
"""

from django.dispatch import Signal

run_started = Signal()
run_closed = Signal()
schedule_updated = Signal()
scheduler_switched = Signal()
watchdog_passed = Signal()
