"""A job's life as a pure function of when it was submitted, what it runs and its scenario: the status histories
of the job and its cluster, with no I/O and no clock of its own. Reads compute the present from this plan.

Times are fake seconds. The default plan (10 s of run) reaches Completed 70 s after submission and Stopped 40 s
later: about two seconds of wall time at the default clock factor of 60.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable

# Seconds after submission at which each status is reached (the real platform takes minutes for the cluster).
WAITING_FOR_QUEUE, QUEUED, CLUSTER_STARTING, STARTED, VALIDATED, EXECUTING = 1.5, 4.0, 5.0, 40.0, 42.0, 45.0
SYNC = 15.0  # output sync between the end of the run and Completed
CLUSTER_STOP_DELAY, CLUSTER_STOP_TIME = 1.0, 40.0
NO_RESOURCES_AFTER = 30.0
STOP_GRACE = 5.0  # from Stopping to Completed when stopped before the run started
EPSILON = 0.001

SUCCESS_REASON = "Completed successfully"
USER_STOP_REASON = "User Terminated"
RUN_FAILED_REASON = "A run failed"
NO_RESOURCES_REASON = "Could not allocate compute resources from the compute provider"
RESTARTS_REASON = "Exceeded max number of restarts"
WALLTIME_REASON = "Job exceeded its walltime"
FORCE_STOP_REASON = "Force stopped"
CLUSTER_STOPPED_REASON = "The cluster was stopped"

JOB_TERMINAL = ("Completed", "Force Stop")


@dataclass(frozen=True)
class Event:
    at: float
    status: str
    reason: str | None = None


@dataclass(frozen=True)
class Scenario:
    outcome: str = "succeed"
    exit_code: int | None = None
    reason: str | None = None
    run_seconds: float | None = None  # overrides what the command's `sleep`s add up to
    cluster_stop_seconds: float | None = None  # from the job's final status to its cluster's Stopped

    @classmethod
    def from_dict(cls, raw: dict | None) -> "Scenario":
        raw = raw or {}
        return cls(raw.get("outcome", "succeed"), raw.get("exitCode"), raw.get("reason"), raw.get("runSeconds"),
                   raw.get("clusterStopSeconds"))


@dataclass(frozen=True)
class Plan:
    job: tuple[Event, ...]
    cluster: tuple[Event, ...]
    run_start: float | None  # None: the job never ran
    run_end: float  # math.inf: still running until stopped
    exit_code: int | None
    finished: float  # time of the terminal job status (inf while it may still run)
    outcome: str = "succeed"
    stopped_by_user: bool = field(default=False)

    def job_events(self, now: float) -> list[Event]:
        return [e for e in self.job if e.at <= now]

    def cluster_events(self, now: float) -> list[Event]:
        return [e for e in self.cluster if e.at <= now]

    def status(self, now: float) -> Event | None:
        seen = self.job_events(now)
        return seen[-1] if seen else None

    def cluster_status(self, now: float) -> Event | None:
        seen = self.cluster_events(now)
        return seen[-1] if seen else None

    def is_running(self, now: float) -> bool:
        return self.run_start is not None and self.run_start <= now < self.run_end

    def steps(self) -> list[float]:
        """Distinct event times in order: what the `poll` clock mode walks through, one per status read."""
        return sorted({e.at for e in (*self.job, *self.cluster) if math.isfinite(e.at)})

    def rescaled(self, origin: float, pace: float) -> "Plan":
        """The same life lived `pace` times faster from `origin` (the scaled clock mode)."""
        if pace == 1.0:
            return self
        at = _squeeze(origin, pace)
        job = _spread(self.job, at)
        ended = job[-1].at if math.isfinite(self.finished) else self.finished  # the terminal status's own time
        return Plan(job, _spread(self.cluster, at), None if self.run_start is None else at(self.run_start),
                    at(self.run_end), self.exit_code, ended, self.outcome, self.stopped_by_user)


MIN_GAP = 2e-6  # dates carry microseconds: squeezed statuses stay at least this far apart, so they still differ


def _spread(events: tuple[Event, ...], at: Callable[[float], float]) -> tuple[Event, ...]:
    out: list[Event] = []
    for event in events:
        when = at(event.at)
        if out and when < out[-1].at + MIN_GAP:
            when = out[-1].at + MIN_GAP
        out.append(Event(when, event.status, event.reason))
    return tuple(out)


def _squeeze(origin: float, pace: float) -> Callable[[float], float]:
    return lambda t: t if not math.isfinite(t) or t <= origin else origin + (t - origin) / pace


def stretch(origin: float, pace: float, t: float | None) -> float | None:
    """A clock time as a time of a life lived `pace` times faster from `origin` (the inverse of rescaled)."""
    return None if t is None or not math.isfinite(t) else origin + (t - origin) * pace


def plan(submitted: float, scenario: Scenario, run_seconds: float, walltime_seconds: float | None,
         stop_at: float | None = None) -> Plan:
    """The whole history of a job on a cluster of its own; `stop_at` is when the user asked it to stop."""
    return _cluster_stop_after(_own_cluster_plan(submitted, scenario, run_seconds, walltime_seconds, stop_at),
                               scenario.cluster_stop_seconds)


def _cluster_stop_after(life: Plan, seconds: float | None) -> Plan:
    """The scenario's `clusterStopSeconds`: the cluster's Stopping/Stopped moved to end that long after the job."""
    if seconds is None or not math.isfinite(life.finished) or not life.cluster:
        return life
    kept = [e for e in life.cluster if e.at <= life.finished or e.status not in ("Stopping", "Stopped")]
    stopping = life.finished + min(CLUSTER_STOP_DELAY, seconds / 2) + MIN_GAP
    if kept[-1].status == "Not Started":
        tail = [Event(life.finished + seconds + MIN_GAP, "Stopped")]
    else:
        tail = [Event(stopping, "Stopping"), Event(max(life.finished + seconds, stopping) + MIN_GAP, "Stopped")]
    return dataclasses.replace(life, cluster=(*kept, *tail))


def _own_cluster_plan(submitted: float, scenario: Scenario, run_seconds: float, walltime_seconds: float | None,
                      stop_at: float | None) -> Plan:
    t = submitted
    head = [Event(t, "Pending"), Event(t + WAITING_FOR_QUEUE, "Waiting for Queue"), Event(t + QUEUED, "Queued")]
    cluster = [Event(t, "Not Started"), Event(t + CLUSTER_STARTING, "Starting")]
    if scenario.outcome == "no_resources":
        return _stopped(head, cluster, t + QUEUED + NO_RESOURCES_AFTER, "Completed", NO_RESOURCES_REASON,
                        run_start=None, run_end=0.0, exit_code=None, stop_at=stop_at, outcome=scenario.outcome)
    head += [Event(t + STARTED, "Started"), Event(t + VALIDATED, "Validated"), Event(t + EXECUTING, "Executing")]
    cluster.append(Event(t + STARTED, "Started"))
    return _run(head, cluster, t + EXECUTING, scenario, run_seconds, walltime_seconds, stop_at, USER_STOP_REASON)


def plan_on_cluster(submitted: float, available: float | None, cluster_stop: float | None, scenario: Scenario,
                    run_seconds: float, walltime_seconds: float | None, stop_at: float | None = None) -> Plan:
    """A job on a persistent cluster: it waits for the cluster (and the jobs before it), then runs; the cluster's
    own statuses are the cluster's, so this plan has none. `available`: when the cluster is free for it."""
    head = [Event(submitted, "Pending")]
    begins = math.inf if available is None else max(available, submitted + WAITING_FOR_QUEUE)
    if available is None or available > submitted + WAITING_FOR_QUEUE:
        head.append(Event(submitted + WAITING_FOR_QUEUE, "Waiting for Cluster"))
    user_stop = stop_at if stop_at is not None else math.inf
    end = min(user_stop, cluster_stop if cluster_stop is not None else math.inf)
    reason = USER_STOP_REASON if user_stop <= end else CLUSTER_STOPPED_REASON
    if end <= begins:  # stopped before it could run
        if math.isinf(end):
            return Plan(tuple(head), (), None, 0.0, None, math.inf, scenario.outcome)
        at = max(end, head[-1].at + EPSILON)
        job = (*head, Event(at, "Stopping", reason), Event(at + STOP_GRACE, "Completed", reason))
        return Plan(job, (), None, 0.0, None, at + STOP_GRACE, "stopped", stopped_by_user=reason == USER_STOP_REASON)
    head += [Event(begins, "Started"), Event(begins + 2.0, "Validated"), Event(begins + 5.0, "Executing")]
    return _run(head, None, begins + 5.0, scenario, run_seconds, walltime_seconds,
                None if math.isinf(end) else end, reason)


def _run(head: list[Event], cluster: list[Event] | None, run_start: float, scenario: Scenario, run_seconds: float,
         walltime_seconds: float | None, stop_at: float | None, stop_reason: str) -> Plan:
    """From Executing to the end: the run, cut short by a stop or the walltime, ended as the scenario says.
    `cluster` is None for a persistent cluster (which keeps running)."""
    duration = scenario.run_seconds if scenario.run_seconds is not None else run_seconds
    end, reason, status = run_start + duration, _end_reason(scenario), "Completed"
    exit_code = scenario.exit_code if scenario.exit_code is not None else (0 if scenario.outcome == "succeed" else 1)
    if walltime_seconds is not None and duration > walltime_seconds:
        end, reason, exit_code = run_start + walltime_seconds, WALLTIME_REASON, 143
    end = max(end, run_start + EPSILON)  # statuses after Executing come strictly later
    if stop_at is not None and stop_at < end:
        return _user_stop(head, cluster, stop_at, run_start, stop_reason)
    if scenario.outcome == "run_failure" or reason == WALLTIME_REASON:
        head.append(Event(end, "Stopping", reason))
        return _stopped(head, cluster, end + SYNC, status, reason, run_start, end, exit_code, None, scenario.outcome)
    if scenario.outcome == "force_stop":
        return _stopped(head, cluster, end, "Force Stop", reason, run_start, end, exit_code, None, scenario.outcome)
    return _stopped(head, cluster, end + SYNC, status, reason, run_start, end, exit_code, None, scenario.outcome)


def _end_reason(scenario: Scenario) -> str | None:
    defaults = {"succeed": SUCCESS_REASON, "run_failure": RUN_FAILED_REASON, "force_stop": FORCE_STOP_REASON,
                "restarts_exceeded": RESTARTS_REASON, "fail": None}
    return scenario.reason if scenario.reason is not None else defaults.get(scenario.outcome)


def _user_stop(head: list[Event], cluster: list[Event] | None, stop_at: float, run_start: float,
               reason: str = USER_STOP_REASON) -> Plan:
    at = max(stop_at, max(e.at for e in head if e.at <= stop_at) + EPSILON)
    visible = [e for e in head if e.at <= stop_at]
    visible.append(Event(at, "Stopping", reason))
    ran = stop_at >= run_start
    finished = at + (SYNC if ran else STOP_GRACE)
    kept = None if cluster is None else [e for e in cluster if e.at <= at]
    plan_ = _stopped(visible, kept, finished, "Completed", reason,
                     run_start if ran else None, at if ran else 0.0, 143 if ran else None, None, "stopped")
    return Plan(plan_.job, plan_.cluster, plan_.run_start, plan_.run_end, plan_.exit_code, plan_.finished,
                plan_.outcome, stopped_by_user=reason == USER_STOP_REASON)


def _stopped(head: list[Event], cluster: list[Event] | None, finished: float, status: str, reason: str | None,
             run_start: float | None, run_end: float, exit_code: int | None, stop_at: float | None,
             outcome: str) -> Plan:
    if stop_at is not None and stop_at < finished:  # stopped while waiting for resources
        return _user_stop(head, cluster, stop_at, math.inf)
    if not math.isfinite(finished):  # runs until stopped: nothing more is planned
        return Plan(tuple(head), tuple(cluster or ()), run_start, run_end, exit_code, finished, outcome)
    job = [*head, Event(finished, status, reason)]
    stop = finished + CLUSTER_STOP_DELAY
    if cluster is None:
        cluster_events: list[Event] = []
    elif cluster[-1].status == "Not Started":
        cluster_events = [*cluster, Event(stop, "Stopped")]
    else:
        cluster_events = [*cluster, Event(stop, "Stopping"), Event(stop + CLUSTER_STOP_TIME, "Stopped")]
    return Plan(tuple(job), tuple(cluster_events), run_start, run_end, exit_code, finished, outcome)


# -- persistent clusters (v3) ------------------------------------------------------------------------------------
CLUSTER_QUEUED, CLUSTER_BOOTING, CLUSTER_UP = 1.0, 5.0, 40.0
STOP_REQUEST_TO_STOPPING = 2.0


@dataclass(frozen=True)
class ClusterPlan:
    events: tuple[Event, ...]
    started: float | None  # when it became Started (None: never)
    stops: float | None  # when the stop was requested, by the user or by the walltime (None: not planned)

    def events_until(self, now: float) -> list[Event]:
        return [e for e in self.events if e.at <= now]

    def status(self, now: float) -> Event:
        return self.events_until(now)[-1]

    def steps(self) -> list[float]:
        return sorted({e.at for e in self.events})

    def rescaled(self, origin: float, pace: float) -> "ClusterPlan":
        if pace == 1.0:
            return self
        at = _squeeze(origin, pace)
        return ClusterPlan(_spread(self.events, at),
                           None if self.started is None else at(self.started),
                           None if self.stops is None else at(self.stops))


def cluster_plan(created: float, start_at: float | None, stop_at: float | None,
                 walltime_seconds: float | None) -> ClusterPlan:
    """`Not Started > Pending > Queued > Starting > Started`, then `Stop Requested > Stopping > Stopped` when the
    user stops it or its walltime (counted from Started) runs out."""
    events = [Event(created, "Not Started")]
    if start_at is None:
        return ClusterPlan(tuple(events), None, None)
    s = max(start_at, created + EPSILON)
    events += [Event(s, "Pending"), Event(s + CLUSTER_QUEUED, "Queued"), Event(s + CLUSTER_BOOTING, "Starting"),
               Event(s + CLUSTER_UP, "Started")]
    started = s + CLUSTER_UP
    stops = [(stop_at, None)] if stop_at is not None else []
    if walltime_seconds is not None:
        stops.append((started + walltime_seconds, WALLTIME_REASON))
    if not stops:
        return ClusterPlan(tuple(events), started, None)
    when, reason = min(stops, key=lambda pair: pair[0])
    when = max(when, s)  # a stop asked for as it starts still finds it Pending
    kept = [e for e in events if e.at <= when]
    at = max(when, kept[-1].at + EPSILON)
    kept += [Event(at, "Stop Requested", reason), Event(at + STOP_REQUEST_TO_STOPPING, "Stopping", reason),
             Event(at + STOP_REQUEST_TO_STOPPING + CLUSTER_STOP_TIME, "Stopped", reason)]
    return ClusterPlan(tuple(kept), started if started <= when else None, at)
