package workflows

import (
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
)

// ResolveWorkflowType is the type name of the ResolvePerson workflow, which runs on TaskQueue
// so that the Genesys credentials and budget stay with the workers.
const ResolveWorkflowType = "ResolvePerson"

// ResolveTimeout bounds a resolution from start to result: the HR API waits this long, and a
// run that no worker took up by then times out rather than lingering.
const ResolveTimeout = 30 * time.Second

// resolveIDPrefix starts the ID of every ResolvePerson run.
const resolveIDPrefix = "resolve-"

// ResolveWorkflowID is a fresh, random ID for a ResolvePerson run. It is never derived from the
// email or employee ID: a hash of one would put a pseudonym of personal data in visibility.
func ResolveWorkflowID() string { return resolveIDPrefix + uuid.NewString() }

// resolveOptions retry a search briefly (a rate limit, a blip, an index that has not caught
// up) and give up well within ResolveTimeout.
var resolveOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    10 * time.Second,
	ScheduleToCloseTimeout: ResolveTimeout - 5*time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        5 * time.Second,
		MaximumAttempts:        5,
		NonRetryableErrorTypes: activities.NonRetryableErrorTypes(),
	},
	// A person is resolved before their access can end.
	Priority: priorityAccess,
}

// ResolvePerson resolves how HR named a person to the one Genesys user it names
// (activities.ResolvePerson). An unknown or ambiguous person fails the run with the activity's
// non-retryable error, whose type the caller reads.
func (w *Workflows) ResolvePerson(ctx workflow.Context, in activities.ResolveInput) (activities.Resolution, error) {
	var r activities.Resolution
	err := activity(ctx, resolveOptions, "resolve a person through the users search", acts.ResolvePerson, in).Get(ctx, &r)
	return r, err
}
