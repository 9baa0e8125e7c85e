package activities_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
)

func Test_GivenTheRetryDecision_ShouldListEveryFinalTypeAndNoRetryableOne(t *testing.T) {
	final := activities.NonRetryableErrorTypes()
	for _, typ := range []string{activities.ErrMissingPermissions, activities.ErrUserNotFound, activities.ErrProtectedUser,
		activities.ErrInvalidInput, activities.ErrCountMismatch, activities.ErrUnexpectedState, activities.ErrBundleCorrupt,
		activities.ErrAuditExists, activities.ErrWebhookRejected, activities.ErrPersonUnknown, activities.ErrPersonAmbiguous,
		string(genesys.KindPermissionDenied), string(genesys.KindInvalid), string(genesys.KindNotFound)} {
		assert.Contains(t, final, typ)
	}
	for _, typ := range []string{activities.ErrNotYetConsistent, activities.ErrExportJobFailed, activities.ErrWorkerStopping,
		activities.ErrWebhookUnavailable, string(genesys.KindRateLimited), string(genesys.KindTransient),
		string(genesys.KindConflict), string(genesys.KindUnauthenticated)} {
		assert.NotContains(t, final, typ)
	}
}
