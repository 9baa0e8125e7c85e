package genesys_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/offboard/offboard/genesys"
)

func Test_GivenEachKind_ShouldDecideRetryabilityOnce(t *testing.T) {
	want := map[genesys.Kind]bool{
		genesys.KindRateLimited:      true,
		genesys.KindTransient:        true,
		genesys.KindConflict:         true,
		genesys.KindUnauthenticated:  true, // the worker's credentials are fixed and the worker restarted; the run goes on
		genesys.KindNotFound:         false,
		genesys.KindPermissionDenied: false,
		genesys.KindInvalid:          false,
	}
	assert.Len(t, genesys.Kinds(), len(want))
	for _, k := range genesys.Kinds() {
		assert.Equal(t, want[k], k.Retryable(), "%s", k)
	}
}
