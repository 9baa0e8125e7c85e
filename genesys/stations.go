package genesys

import (
	"context"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
)

// StationHolder implements Client (GET /api/v2/stations/{stationId}): the station's userId, the
// user currently associated with it.
func (c *SDKClient) StationHolder(ctx context.Context, stationID string) (string, error) {
	op := "get station " + stationID
	if err := needID(op, stationID); err != nil {
		return "", err
	}
	st, err := fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*platformclientv2.Station, *sdkResponse, error) {
		return platformclientv2.NewStationsApiWithConfig(cfg).GetStation(stationID)
	})
	if err != nil {
		return "", err
	}
	return deref(st.UserId), nil
}
