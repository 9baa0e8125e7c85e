package activities_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys/emulator"
)

// permissionReads counts the calls of the permission check in h's emulator's log.
func permissionReads(h *harness) int {
	n := 0
	for _, c := range h.emu.Calls() {
		if c.Path == "/api/v2/tokens/me" || strings.HasPrefix(c.Path, "/api/v2/oauth/clients/") || strings.HasPrefix(c.Path, "/api/v2/authorization/roles/") {
			n++
		}
	}
	return n
}

func Test_GivenRunsCheckingPermissionsOnOneWorker_ShouldReadThemOncePerFewMinutes(t *testing.T) {
	h := dev(t)
	var rep activities.AccessReport
	require.NoError(t, run(t, h, &rep, h.a.CheckAccess, activities.CheckAccessInput{Permissions: allPerms}))
	once := permissionReads(h)
	require.Positive(t, once)

	for range 3 {
		require.NoError(t, run(t, h, &rep, h.a.CheckAccess, activities.CheckAccessInput{Permissions: allPerms}))
	}

	assert.Equal(t, once, permissionReads(h), "the runs after the first trust the permissions read")
	assert.Equal(t, emulator.DevClientID, rep.ClientID)
}

func Test_GivenACachedCheckThatLacksAPermission_ShouldReadThePermissionsAgain(t *testing.T) {
	h := newHarness(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret)
	err := run(t, h, nil, h.a.CheckAccess, activities.CheckAccessInput{Permissions: allPerms})
	appError(t, err, activities.ErrMissingPermissions, false)
	once := permissionReads(h)

	err = run(t, h, nil, h.a.CheckAccess, activities.CheckAccessInput{Permissions: allPerms})

	appError(t, err, activities.ErrMissingPermissions, false)
	assert.Equal(t, 2*once, permissionReads(h), "a reading that lacks something is never trusted, so that a permission added since counts")
}
