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

// Per-activity options. StartToClose bounds one attempt; ScheduleToClose bounds all retries.
var (
	// checkOptions: CheckAccess and SnapshotUser are one or two GETs each.
	checkOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 15 * time.Minute,
		RetryPolicy:            retry(0),
	}
	// changeOptions: DeactivateUser, RestoreUser and DeleteUser are a GET and a PATCH or DELETE,
	// retried on version conflicts inside the activity; an hour absorbs a Genesys incident.
	changeOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy:            retry(0),
	}
	// exportOptions: an export runs one analytics job per window and may take hours for a busy
	// user. It heartbeats its cursor, so a lost worker is noticed within two minutes and the next
	// attempt resumes from the cursor instead of starting over.
	exportOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    6 * time.Hour,
		HeartbeatTimeout:       2 * time.Minute,
		ScheduleToCloseTimeout: 48 * time.Hour,
		RetryPolicy:            retry(0),
	}
	// countOptions: CountInteractions and VerifyOutcome page through the synchronous query.
	countOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    15 * time.Minute,
		ScheduleToCloseTimeout: 2 * time.Hour,
		RetryPolicy:            retry(0),
	}
	// auditOptions: WriteAudit must eventually succeed, so it retries for a day of store outage.
	auditOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            retry(0),
	}
	// notifyOptions: a notification is best effort: five attempts, then the run carries on.
	notifyOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy:            retry(5),
	}
)
