package activities

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities/bundle"
)

// A running export resumes from the checkpoint an older build heartbeated: its JSON layout is
// fixed for progressVersion 1.
func Test_GivenACheckpoint_ShouldKeepTheHeartbeatLayoutOfVersion1(t *testing.T) {
	p := newProgress(2)
	p.useJob("job-1")
	p.Cursor = "c2"
	p.Windows[0].Conversations = 3
	p.Windows[1].Mismatch = "m"
	p.Windows[1].Exported = true
	p.Parts = []partProgress{{PartRecord: bundle.PartRecord{Name: "part-00000.ndjson.gz", Conversations: 3, Bytes: 10, SHA256: "ab"}, Window: 0}}
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":1,"window":0,"jobId":"job-1","cursor":"c2",
		"windows":[{"jobIds":["job-1"],"conversations":3,"counted":-1},{"conversations":0,"counted":-1,"mismatch":"m","exported":true}],
		"parts":[{"name":"part-00000.ndjson.gz","conversations":3,"bytes":10,"sha256":"ab","window":0}]}`, string(raw))
	var back exportProgress
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, p, back)
}
