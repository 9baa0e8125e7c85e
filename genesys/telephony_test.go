package genesys_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenAWebRTCStation_ShouldDisassociateClearAndPutItBack(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	u := f.seeded(t, 0) // a WebRTC phone, associated and default

	before, err := c.UserStations(ctx, u.ID)
	require.NoError(t, err)
	a := f.access(t, u.ID)
	assert.Equal(t, genesys.Stations{AssociatedID: a.StationID, AssociatedName: before.AssociatedName, DefaultID: a.DefaultStationID,
		DefaultName: before.DefaultName, AssociatedType: "inin_webrtc_softphone"}, before)
	require.NotEmpty(t, before.AssociatedID)
	assert.Equal(t, before.AssociatedID, before.DefaultID)
	assert.NotEmpty(t, before.AssociatedName)

	require.NoError(t, c.DisassociateStation(ctx, u.ID))
	require.NoError(t, c.ClearDefaultStation(ctx, u.ID))
	require.NoError(t, c.DisassociateStation(ctx, u.ID), "no station left: a 404 is success")
	require.NoError(t, c.ClearDefaultStation(ctx, u.ID))
	after, err := c.UserStations(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, genesys.Stations{}, after)

	require.NoError(t, c.AssociateStation(ctx, u.ID, before.AssociatedID))
	require.NoError(t, c.SetDefaultStation(ctx, u.ID, before.DefaultID))
	back, err := c.UserStations(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, before, back)

	requireKind(t, c.AssociateStation(ctx, u.ID, ""), genesys.KindInvalid)
	requireKind(t, c.AssociateStation(ctx, u.ID, unknownUser), genesys.KindNotFound)
}

func Test_GivenEventuallyConsistentStations_ShouldShowTheOldStateAndConflictForAWhile(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	u := f.seeded(t, 1)
	before, err := c.UserStations(ctx, u.ID)
	require.NoError(t, err)
	require.NotEmpty(t, before.AssociatedID)

	f.emu.SetFaults(emulator.Faults{StationConflicts: 1, StationLag: 2})
	ge := requireKind(t, c.DisassociateStation(ctx, u.ID), genesys.KindConflict)
	assert.Contains(t, ge.Message, "version number")
	require.NoError(t, c.DisassociateStation(ctx, u.ID), "the next write goes through")
	for range 2 {
		lagging, err := c.UserStations(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, before, lagging, "the read-back lags")
	}
	now, err := c.UserStations(ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, now.AssociatedID)
	assert.Equal(t, before.DefaultID, now.DefaultID)
}

func Test_GivenAStationNowSomeoneElses_ShouldNotTakeItBack(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	leaver, other := f.seeded(t, 1), f.seeded(t, 3) // user 3 has no station
	require.Empty(t, f.access(t, other.ID).StationID)
	st, err := c.UserStations(ctx, leaver.ID)
	require.NoError(t, err)

	require.NoError(t, c.DisassociateStation(ctx, leaver.ID))
	require.NoError(t, c.AssociateStation(ctx, other.ID, st.AssociatedID))
	ge := requireKind(t, c.AssociateStation(ctx, leaver.ID, st.AssociatedID), genesys.KindInvalid)
	assert.Contains(t, ge.Message, "another user")
	assert.Equal(t, st.AssociatedID, f.access(t, other.ID).StationID)
}

func Test_GivenCallForwarding_ShouldTurnItOffAndPutItBackWhole(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	u := f.seeded(t, 2) // forwards to a mobile number

	before, err := c.CallForwarding(ctx, u.ID)
	require.NoError(t, err)
	a := f.access(t, u.ID).Forwarding
	require.True(t, before.Enabled)
	assert.Equal(t, a.PhoneNumber, before.PhoneNumber)
	assert.Equal(t, genesys.CallForwarding{Enabled: true, PhoneNumber: a.PhoneNumber, Voicemail: "PURECLOUD",
		Calls: []genesys.ForwardingRoute{{Targets: []genesys.ForwardingTarget{{Type: "PHONENUMBER", Value: a.PhoneNumber}}}}}, before)

	off := before
	off.Enabled = false
	require.NoError(t, c.SetCallForwarding(ctx, u.ID, off))
	got, err := c.CallForwarding(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, off, got)
	assert.False(t, f.access(t, u.ID).Forwarding.Enabled)

	require.NoError(t, c.SetCallForwarding(ctx, u.ID, before))
	got, err = c.CallForwarding(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, before, got)

	plain, err := c.CallForwarding(ctx, f.seeded(t, 0).ID)
	require.NoError(t, err)
	assert.Equal(t, genesys.CallForwarding{}, plain)
	requireKind(t, c.SetCallForwarding(ctx, u.ID, genesys.CallForwarding{Enabled: true}), genesys.KindInvalid)
}

func Test_GivenNoTelephonyPermissions_ShouldBeDeniedNamingThem(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	ro, ctx := f.client(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret), context.Background()
	u := f.seeded(t, 2)
	_, err := ro.UserStations(ctx, u.ID)
	require.NoError(t, err, "the read-only client may read stations")

	ge := requireKind(t, ro.DisassociateStation(ctx, u.ID), genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermStationDisassociate}, ge.MissingPermissions)
	ge = requireKind(t, ro.ClearDefaultStation(ctx, u.ID), genesys.KindPermissionDenied)
	assert.Contains(t, ge.MissingPermissions, genesys.PermPhoneAssign)
	ge = requireKind(t, ro.SetCallForwarding(ctx, u.ID, genesys.CallForwarding{}), genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermCallForwardingEdit}, ge.MissingPermissions)

	f.emu.AddClient("blind", "blind-secret", emulator.PermUserView)
	_, err = f.client(t, "blind", "blind-secret").UserStations(ctx, u.ID)
	ge = requireKind(t, err, genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermStationAssociationView}, ge.MissingPermissions)
	assert.NotEmpty(t, f.access(t, u.ID).StationID)
	assert.True(t, f.access(t, u.ID).Forwarding.Enabled)
}
