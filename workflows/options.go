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

// Per-activity options. StartToClose bounds one attempt; ScheduleToClose bounds all retries.
var (
	// checkOptions: CheckAccess and SnapshotUser are one or two GETs each.
	checkOptions = bounded(30*time.Second, 15*time.Minute)
	// snapshotOptions: SnapshotAccess reads every part of the user's access, each listing paged,
	// and the org's OAuth clients.
	snapshotOptions = bounded(5*time.Minute, time.Hour)
	// changeOptions: DeactivateUser, RestoreUser and DeleteUser are a GET and a PATCH or DELETE,
	// retried on version conflicts inside the activity; an hour absorbs a Genesys incident.
	changeOptions = bounded(time.Minute, time.Hour)
	// revokeOptions: RevokeAccess is a change like the others; a cancelled run waits for a step
	// in flight to end, so that the restore that follows sees what it did.
	revokeOptions = func() workflow.ActivityOptions {
		o := changeOptions
		o.WaitForCancellation = true
		return o
	}()
	// exportOptions: an export runs one analytics job per window and may take hours for a busy
	// user. It heartbeats its cursor, so a lost worker is noticed within two minutes and the next
	// attempt resumes from the cursor instead of starting over.
	exportOptions = func() workflow.ActivityOptions {
		o := bounded(6*time.Hour, 48*time.Hour)
		o.HeartbeatTimeout = 2 * time.Minute
		return o
	}()
	// countOptions: CountInteractions and VerifyOutcome page through the synchronous query.
	countOptions = bounded(15*time.Minute, 2*time.Hour)
	// auditOptions: WriteAudit must eventually succeed, so it retries for a day of store outage.
	auditOptions = bounded(time.Minute, 24*time.Hour)
	// notifyOptions: a notification is best effort: five attempts, then the run carries on.
	notifyOptions = func() workflow.ActivityOptions {
		o := bounded(30*time.Second, 10*time.Minute)
		o.RetryPolicy = retry(5)
		return o
	}()
)
