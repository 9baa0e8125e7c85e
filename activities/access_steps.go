package activities

import (
	"slices"

	"github.com/offboard/offboard/genesys"
)

// stepDef declares one step of ending access, once: what it needs, how it ends its part of the
// access and how it gives that part back. Everything else about the steps is read from stepTable.
type stepDef struct {
	step AccessStep
	// needs is what the step needs to read and end its part (the Genesys API's
	// x-inin-requires-permissions, plus the station permissions enforced since 2026-03-01);
	// endpoints that list no permission are not named. restoreNeeds is what restoring adds.
	needs, restoreNeeds []string
	revoke, restore     stepRunner
}

// stepTable lists the steps in the order they end access: off queue first so that no
// interaction arrives meanwhile, tokens after the state so that the user cannot sign straight
// back in.
var stepTable = []stepDef{
	{step: StepOffQueue, revoke: (*Activities).revokeOffQueue, restore: (*Activities).restoreRoutingStatus},
	{step: StepQueues, needs: []string{genesys.PermQueueView, genesys.PermQueueMemberManage},
		revoke: (*Activities).revokeQueues, restore: (*Activities).restoreQueues},
	{step: StepForwarding, needs: []string{genesys.PermCallForwardingEdit},
		revoke: (*Activities).revokeForwarding, restore: (*Activities).restoreForwarding},
	{step: StepStation, needs: []string{genesys.PermStationAssociationView, genesys.PermStationDisassociate, genesys.PermPhoneAssign},
		revoke: (*Activities).revokeStation, restore: (*Activities).restoreStation},
	{step: StepGrants, needs: []string{genesys.PermGrantView, genesys.PermGrantDelete}, restoreNeeds: []string{genesys.PermGrantAdd},
		revoke: (*Activities).revokeGrants, restore: (*Activities).restoreGrants},
	{step: StepState, needs: []string{genesys.PermUserEdit}, revoke: (*Activities).revokeState, restore: (*Activities).restoreStateStep},
	{step: StepTokens, needs: []string{genesys.PermTokenDelete}, revoke: (*Activities).revokeTokens, restore: (*Activities).restoreTokens},
	{step: StepReports, needs: []string{genesys.PermUserEdit, genesys.PermOAuthClientView},
		revoke: (*Activities).revokeReports, restore: (*Activities).restoreReports},
}

func stepOf(s AccessStep) (stepDef, bool) {
	i := slices.IndexFunc(stepTable, func(d stepDef) bool { return d.step == s })
	if i < 0 {
		return stepDef{}, false
	}
	return stepTable[i], true
}

// RevokeSteps lists the steps in the order they end access.
func RevokeSteps() []AccessStep {
	out := make([]AccessStep, len(stepTable))
	for i, d := range stepTable {
		out[i] = d.step
	}
	return out
}

// RestoreSteps is RevokeSteps reversed: the order in which RestoreAccess re-applies the snapshot.
// Every step is listed, so that what cannot be given back (tokens) is reported too.
func RestoreSteps() []AccessStep {
	s := RevokeSteps()
	slices.Reverse(s)
	return s
}

// StepPermissions is the permissions a step needs (for the preflight and the policy of optional
// steps). An unknown step needs nothing.
func StepPermissions(s AccessStep) []string {
	d, _ := stepOf(s)
	return slices.Clone(d.needs)
}

// RestorePermissions is the permissions RestoreAccess needs for a step beyond StepPermissions
// (adding grants back), for a preflight that wants to be sure a cancel can restore everything.
func RestorePermissions(s AccessStep) []string {
	d, _ := stepOf(s)
	return slices.Clone(d.restoreNeeds)
}
