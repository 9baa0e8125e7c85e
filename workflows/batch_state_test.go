package workflows

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The largest batch's state, carried in a continued run's input, stays well under Temporal's
// 2 MB payload limit.
func Test_GivenTenThousandFinishedItems_ShouldCarryTheirStateWellUnder2MB(t *testing.T) {
	st := batchState{FirstRunID: uuid.NewString(), Runs: 9, State: BatchRunning, MaxInFlight: 50, Next: MaxBatchItems}
	for i := range MaxBatchItems {
		st.Items = append(st.Items, itemState{Line: i + 2, UserID: compactID(uuid.NewString()), RunID: compactID(uuid.NewString()),
			Outcome: ItemOutcome(OutcomeArchived), AccessEndedMs: (30 * 24 * time.Hour).Milliseconds(), FinishedMs: (31 * 24 * time.Hour).Milliseconds()})
	}
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	in, err := json.Marshal(BatchInput{BatchID: uuid.NewString(), RequestedBy: "hr-workday", RequestedAt: time.Now(), Resume: raw})
	require.NoError(t, err)

	t.Logf("%d items: %d bytes", MaxBatchItems, len(in))
	assert.Less(t, len(in), 1_200_000)
	var back batchState
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, st, back, "IDs compacted on the way out are restored on the way in")
}

func Test_GivenAnIDThatIsNoCanonicalUUID_ShouldCarryItAsItIs(t *testing.T) {
	for _, id := range []compactID{"3F2504E0-4F89-41D3-9A0C-0305E82C3301", "not-a-uuid", "~abc"} {
		raw, err := json.Marshal(id)
		require.NoError(t, err)
		var back compactID
		err = json.Unmarshal(raw, &back)
		if id == "~abc" {
			assert.Error(t, err, "a value that looks compacted but is not is refused, never misread")
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, id, back)
	}
}
