package stack

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// AccessProof is what the demo saw of the user's access before the run and once access ended.
type AccessProof struct {
	Before, After emulator.AccessRecord
	// TokenBefore and TokenAfter are the answers to GET /api/v2/users/me with a token issued to
	// the user before the run.
	TokenBefore, TokenAfter int
}

// issueToken reads what the user holds and logs them in, before the run: the token must work.
func (d *demo) issueToken(ctx context.Context) error {
	before, ok := d.s.Emulator.Access(d.userID)
	if !ok {
		return fmt.Errorf("the emulator has no user %s", d.userID)
	}
	tok, err := d.s.Emulator.IssueUserToken(d.userID)
	if err != nil {
		return fmt.Errorf("log the user in before the run: %w", err)
	}
	d.token = tok
	d.proof = &AccessProof{Before: before}
	if d.proof.TokenBefore, err = d.usersMe(ctx); err != nil {
		return err
	}
	if d.proof.TokenBefore != http.StatusOK {
		return fmt.Errorf("GET /api/v2/users/me with the user's token answered %d before the run, want 200", d.proof.TokenBefore)
	}
	d.say("Before:        %s; the user's token: GET /api/v2/users/me -> %d", describeAccess(before), d.proof.TokenBefore)
	return nil
}

// checkAccessEnded requires, once the revoking stage has ended, that the user holds nothing and
// that their token is refused.
func (d *demo) checkAccessEnded(ctx context.Context) error {
	after, ok := d.s.Emulator.Access(d.userID)
	if !ok {
		return fmt.Errorf("the emulator has no user %s", d.userID)
	}
	d.proof.After = after
	var err error
	if d.proof.TokenAfter, err = d.usersMe(ctx); err != nil {
		return err
	}
	d.say("  [%6.1fs] After revoking: %s; the same token -> %d", d.since(), describeAccess(after), d.proof.TokenAfter)
	if left := accessLeft(after); len(left) > 0 {
		return fmt.Errorf("access left after the revoking stage: %s", strings.Join(left, "; "))
	}
	if d.proof.TokenAfter != http.StatusUnauthorized {
		return fmt.Errorf("GET /api/v2/users/me with the user's token answered %d after the revoking stage, want 401", d.proof.TokenAfter)
	}
	return nil
}

// usersMe calls GET /api/v2/users/me with the user's token and returns the status code.
func (d *demo) usersMe(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(d.s.EmulatorURL, "/")+"/api/v2/users/me", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /api/v2/users/me: %w", err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// describeAccess says what the user holds: roles, queues, station, forwarding and routing status.
func describeAccess(a emulator.AccessRecord) string {
	roles := make([]string, len(a.Grants))
	for i, g := range a.Grants {
		roles[i] = g.RoleName
	}
	queues := make([]string, len(a.Queues))
	for i, q := range a.Queues {
		queues[i] = q.Name
		if q.MemberBy == "group" {
			queues[i] += " (via group)"
		}
	}
	station := "none"
	if a.StationID != "" {
		station = a.StationID
	}
	return fmt.Sprintf("roles [%s], queues [%s], station %s, forwarding %s, %s",
		strings.Join(roles, ", "), strings.Join(queues, ", "), station, onOff(a.Forwarding.Enabled), a.RoutingStatus)
}

// accessLeft names what the user still holds that the revoking stage ends.
func accessLeft(a emulator.AccessRecord) []string {
	var left []string
	if len(a.Grants) > 0 {
		left = append(left, fmt.Sprintf("%d grant(s)", len(a.Grants)))
	}
	for _, q := range a.Queues {
		if q.MemberBy != "group" {
			left = append(left, "queue "+q.Name)
		}
	}
	if a.StationID != "" || a.DefaultStationID != "" {
		left = append(left, "a station")
	}
	if a.Forwarding.Enabled {
		left = append(left, "call forwarding on")
	}
	if a.RoutingStatus != "" && a.RoutingStatus != genesys.RoutingOffQueue {
		left = append(left, "routing status "+a.RoutingStatus)
	}
	return left
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
