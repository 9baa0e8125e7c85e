package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/workflows"
)

// long are the activities that can run for more than a few seconds, with the heartbeat timeout
// each is scheduled with; every other activity is short and has none.
var long = map[string]time.Duration{
	"SnapshotAccess":     30 * time.Second,
	"RevokeAccess":       30 * time.Second,
	"RestoreAccess":      30 * time.Second,
	"ExportInteractions": 2 * time.Minute,
	"CountInteractions":  30 * time.Second,
	"VerifyOutcome":      30 * time.Second,
}

func Test_GivenEveryPath_ShouldScheduleLongActivitiesWithAHeartbeatTimeoutAndShortOnesWithout(t *testing.T) {
	seen := map[string]*activity.Info{}
	listen := func(f *fixture) {
		f.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
			seen[info.ActivityType.Name] = info
		})
	}
	del := newFixture(t, testPolicy())
	del.at(time.Hour, func() { del.update(workflows.UpdateApprove, decide("alice")) })
	listen(del)
	_, err := del.run(deleteRequest())
	require.NoError(t, err)

	cancelled := newFixture(t, testPolicy())
	cancelled.at(day, func() { cancelled.env.CancelWorkflow() })
	listen(cancelled)
	_, _ = cancelled.run(deleteRequest())

	dry := newFixture(t, testPolicy())
	listen(dry)
	req := archiveRequest()
	req.DryRun = true
	_, err = dry.run(req)
	require.NoError(t, err)

	for name := range long {
		assert.Contains(t, seen, name, "the runs above must schedule every long activity")
	}
	assert.Contains(t, seen, "DeleteUser")
	for name, info := range seen {
		want := long[name]
		assert.Equal(t, want, info.HeartbeatTimeout, "%s's heartbeat timeout", name)
		if want == 0 {
			assert.LessOrEqual(t, info.StartToCloseTimeout, time.Minute, "%s is short: a lost attempt costs its start-to-close", name)
		}
	}
}
