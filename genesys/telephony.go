package genesys

import (
	"context"
	"fmt"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
)

// UserStations implements Client (GET /users/{id}/station): the associated and the default station.
func (c *SDKClient) UserStations(ctx context.Context, userID string) (Stations, error) {
	us, err := userGet(ctx, c, "get stations of "+userID, userID, func(api *platformclientv2.UsersApi) (*platformclientv2.Userstations, *sdkResponse, error) {
		return api.GetUserStation(userID)
	})
	if err != nil {
		return Stations{}, err
	}
	var s Stations
	if a := us.AssociatedStation; a != nil {
		s.AssociatedID, s.AssociatedName, s.AssociatedType = deref(a.Id), deref(a.Name), deref(a.VarType)
	}
	if d := us.DefaultStation; d != nil {
		s.DefaultID, s.DefaultName = deref(d.Id), deref(d.Name)
	}
	return s, nil
}

// DisassociateStation implements Client (DELETE /users/{id}/station/associatedstation). A user
// with no associated station (404) is success. Genesys applies station changes eventually: read
// back with UserStations.
func (c *SDKClient) DisassociateStation(ctx context.Context, userID string) error {
	return c.stationCall(ctx, "disassociate station of "+userID, userID, true, func(api *platformclientv2.UsersApi) (*sdkResponse, error) {
		return api.DeleteUserStationAssociatedstation(userID)
	})
}

// ClearDefaultStation implements Client (DELETE /users/{id}/station/defaultstation). A user with
// no default station (404) is success.
func (c *SDKClient) ClearDefaultStation(ctx context.Context, userID string) error {
	return c.stationCall(ctx, "clear default station of "+userID, userID, true, func(api *platformclientv2.UsersApi) (*sdkResponse, error) {
		return api.DeleteUserStationDefaultstation(userID)
	})
}

// AssociateStation implements Client (PUT /users/{id}/station/associatedstation/{stationId}).
func (c *SDKClient) AssociateStation(ctx context.Context, userID, stationID string) error {
	return c.setStation(ctx, fmt.Sprintf("associate station %s with %s", stationID, userID), userID, stationID, func(api *platformclientv2.UsersApi) (*sdkResponse, error) {
		return api.PutUserStationAssociatedstationStationId(userID, stationID)
	})
}

// SetDefaultStation implements Client (PUT /users/{id}/station/defaultstation/{stationId}).
func (c *SDKClient) SetDefaultStation(ctx context.Context, userID, stationID string) error {
	return c.setStation(ctx, fmt.Sprintf("set default station of %s to %s", userID, stationID), userID, stationID, func(api *platformclientv2.UsersApi) (*sdkResponse, error) {
		return api.PutUserStationDefaultstationStationId(userID, stationID)
	})
}

// setStation makes a station write that names the station.
func (c *SDKClient) setStation(ctx context.Context, op, userID, stationID string, call func(api *platformclientv2.UsersApi) (*sdkResponse, error)) error {
	if err := needID(op, stationID); err != nil {
		return err
	}
	return c.stationCall(ctx, op, userID, false, call)
}

// stationCall makes one station write; for a removal (absentOK) a 404, nothing to remove, is
// done. A 409 (the station's version moved on) reaches the caller as KindConflict, for its
// read-back to retry.
func (c *SDKClient) stationCall(ctx context.Context, op, userID string, absentOK bool, call func(api *platformclientv2.UsersApi) (*sdkResponse, error)) error {
	if err := needID(op, userID); err != nil {
		return err
	}
	_, err := c.do(ctx, op, func(cfg *sdkConfiguration) (*sdkResponse, error) {
		return call(platformclientv2.NewUsersApiWithConfig(cfg))
	})
	if absentOK && IsNotFound(err) {
		return nil
	}
	return err
}

// CallForwarding implements Client (GET /users/{id}/callforwarding).
func (c *SDKClient) CallForwarding(ctx context.Context, userID string) (CallForwarding, error) {
	cf, err := userGet(ctx, c, "get call forwarding of "+userID, userID, func(api *platformclientv2.UsersApi) (*platformclientv2.Callforwarding, *sdkResponse, error) {
		return api.GetUserCallforwarding(userID)
	})
	if err != nil {
		return CallForwarding{}, err
	}
	out := CallForwarding{Enabled: deref(cf.Enabled), PhoneNumber: deref(cf.PhoneNumber), Voicemail: deref(cf.Voicemail)}
	for _, r := range deref(cf.Calls) {
		route := ForwardingRoute{Targets: []ForwardingTarget{}}
		for _, t := range deref(r.Targets) {
			route.Targets = append(route.Targets, ForwardingTarget{Type: deref(t.VarType), Value: deref(t.Value)})
		}
		out.Calls = append(out.Calls, route)
	}
	return out, nil
}

// SetCallForwarding implements Client: replaces the whole setting (PUT /users/{id}/callforwarding).
func (c *SDKClient) SetCallForwarding(ctx context.Context, userID string, f CallForwarding) error {
	op := fmt.Sprintf("set call forwarding of %s (enabled=%t)", userID, f.Enabled)
	if err := needID(op, userID); err != nil {
		return err
	}
	calls := make([]platformclientv2.Callroute, 0, len(f.Calls))
	for _, r := range f.Calls {
		targets := make([]platformclientv2.Calltarget, 0, len(r.Targets))
		for _, t := range r.Targets {
			targets = append(targets, platformclientv2.Calltarget{VarType: new(t.Type), Value: new(t.Value)})
		}
		calls = append(calls, platformclientv2.Callroute{Targets: &targets})
	}
	body := platformclientv2.Callforwarding{Enabled: new(f.Enabled), Calls: &calls}
	if f.PhoneNumber != "" {
		body.PhoneNumber = new(f.PhoneNumber)
	}
	if f.Voicemail != "" {
		body.Voicemail = new(f.Voicemail)
	}
	_, err := c.do(ctx, op, func(cfg *sdkConfiguration) (*sdkResponse, error) {
		return ignoreBody(platformclientv2.NewUsersApiWithConfig(cfg).PutUserCallforwarding(userID, body))
	})
	return err
}
