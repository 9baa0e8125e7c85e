package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
)

// retry backs off from 1 s to 5 min; NextRetryDelay from a 429 overrides the computed interval.
func retry(maxAttempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        5 * time.Minute,
		MaximumAttempts:        maxAttempts,
		NonRetryableErrorTypes: activities.NonRetryableErrorTypes(),
	}
}

// bounded are the options of an activity whose attempt takes at most attempt and whose
// retries all end within total.
func bounded(attempt, total time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{StartToCloseTimeout: attempt, ScheduleToCloseTimeout: total, RetryPolicy: retry(0)}
}

// activity schedules the activity fn with opts and summary, the line the UI shows for it: the
// step it takes, naming IDs only, never names or emails.
func activity(ctx workflow.Context, opts workflow.ActivityOptions, summary string, fn, in any) workflow.Future {
	opts.Summary = summary
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), fn, in)
}

// heartbeating are the options of an activity that can run for longer than a few seconds: it
// heartbeats while it works, so a worker lost mid-attempt costs at most heartbeat before the next
// attempt starts elsewhere, not the attempt's whole start-to-close.
func heartbeating(attempt, total, heartbeat time.Duration) workflow.ActivityOptions {
	o := bounded(attempt, total)
	o.HeartbeatTimeout = heartbeat
	return o
}

// keepAliveTimeout is the heartbeat timeout of the activities that heartbeat every 5 s at most
// (activities' pulse): the SDK sends a heartbeat at most every 10 s (workerproc's
// MaxHeartbeatThrottleInterval), so 30 s tolerates two lost or late ones.
const keepAliveTimeout = 30 * time.Second

// Task priorities (Temporal's PriorityKey: 1 is served first, 3 is the default). Access-ending
// work goes before bulk reads, so that when many runs share the Genesys budget every leaver's
// access ends before any export's calls: Temporal's matching dispatches by it when activities
// queue, and the worker's Genesys limiter serves waiting calls by it (workerproc passes it on).
var (
	priorityAccess = temporal.Priority{PriorityKey: 1}
	priorityBulk   = temporal.Priority{PriorityKey: 4}
)

// withPriority is opts at priority p.
func withPriority(opts workflow.ActivityOptions, p temporal.Priority) workflow.ActivityOptions {
	opts.Priority = p
	return opts
}

// Per-activity options. StartToClose bounds one attempt; ScheduleToClose bounds all retries.
// Short activities (one or two Genesys calls, one store write, one POST) have a short
// start-to-close and no heartbeat: checkOptions, changeOptions, auditOptions, notifyOptions and
// resolveOptions. The others heartbeat and have a heartbeat timeout: snapshotOptions,
// revokeOptions, restoreAccessOptions, exportOptions and countOptions.
var (
	// checkOptions: CheckAccess and SnapshotUser are one or two GETs each.
	checkOptions = withPriority(bounded(30*time.Second, 15*time.Minute), priorityAccess)
	// snapshotOptions: SnapshotAccess reads every part of the user's access, each listing paged,
	// and the org's OAuth clients.
	snapshotOptions = withPriority(heartbeating(5*time.Minute, time.Hour, keepAliveTimeout), priorityAccess)
	// changeOptions: DeactivateUser, RestoreUser and DeleteUser are a GET and a PATCH or DELETE,
	// retried on version conflicts inside the activity; an hour absorbs a Genesys incident.
	changeOptions = withPriority(bounded(time.Minute, time.Hour), priorityAccess)
	// accessStepOptions: a RevokeAccess or RestoreAccess step pages through a part of the user's
	// access, changes it and reads it back for up to about 8 s of waits.
	accessStepOptions = withPriority(heartbeating(time.Minute, time.Hour, keepAliveTimeout), priorityAccess)
	// revokeOptions: RevokeAccess; a cancelled run waits for a step in flight to end (the
	// cancellation reaches it with its next heartbeat), so that the restore that follows sees
	// what it did.
	revokeOptions = func() workflow.ActivityOptions {
		o := accessStepOptions
		o.WaitForCancellation = true
		return o
	}()
	// restoreAccessOptions: RestoreAccess.
	restoreAccessOptions = accessStepOptions
	// exportOptions: an export runs one analytics job per window and may take hours for a busy
	// user. It heartbeats its cursor at every page and repeats it every 5 s while a call or a
	// poll holds it, so a lost worker is noticed within two minutes and the next attempt resumes
	// from the cursor instead of starting over. Longer than the others: a heartbeat that does not
	// reach the server loses no work here, a restart from an old cursor does.
	exportOptions = withPriority(heartbeating(6*time.Hour, 48*time.Hour, 2*time.Minute), priorityBulk)
	// countOptions: CountInteractions and VerifyOutcome page through the synchronous query,
	// under keepAlive.
	countOptions = withPriority(heartbeating(15*time.Minute, 2*time.Hour, keepAliveTimeout), priorityBulk)
	// auditOptions: WriteAudit must eventually succeed, so it retries for a day of store outage.
	auditOptions = bounded(time.Minute, 24*time.Hour)
	// notifyOptions: a notification is best effort: five attempts, then the run carries on.
	notifyOptions = func() workflow.ActivityOptions {
		o := bounded(30*time.Second, 10*time.Minute)
		o.RetryPolicy = retry(5)
		return o
	}()
)
