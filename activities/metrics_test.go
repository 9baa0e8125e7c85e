package activities_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uber-go/tally/v4"
	sdktally "go.temporal.io/sdk/contrib/tally"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
)

// counted sums the counter name over its tag sets in the scope.
func counted(scope tally.TestScope, name string) int64 {
	var n int64
	for _, c := range scope.Snapshot().Counters() {
		if c.Name() == name {
			n += c.Value()
		}
	}
	return n
}

func Test_GivenAnExportThatCrashedAndResumed_ShouldCountEachStoredConversationOnce(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	in := f.input("metered", start, end)
	scope := tally.NewTestScope("", nil)
	var s testsuite.WorkflowTestSuite
	s.SetMetricsHandler(sdktally.NewMetricsHandler(scope))

	crashing := *f.a
	crashing.Genesys = &crashingClient{Client: f.g, failAfter: 4}
	first := runExportIn(t, &s, &crashing, in, nil)
	require.ErrorContains(t, first.err, errCrash.Error())
	stored := counted(scope, activities.MetricConversationsExported)
	assert.Positive(t, stored, "the parts stored before the crash count")

	second := runExportIn(t, &s, f.a, in, first.last())
	require.NoError(t, second.err)
	assert.Equal(t, int64(second.summary.Conversations), counted(scope, activities.MetricConversationsExported))
	assert.Equal(t, second.summary.Bytes, counted(scope, activities.MetricBytesExported))
}
