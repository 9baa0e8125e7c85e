package activities

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/offboard/offboard/genesys"
)

// permissionCheckTTL is how long CheckAccess trusts the permissions it last read for a Genesys
// client (one per worker process), so that the check costs its calls (tokens/me, the OAuth
// client and each of its roles) once per worker every few minutes rather than once per run. A
// permission taken away meanwhile still fails the first call that needs it, with a 403 naming
// it, before that call changes anything.
const permissionCheckTTL = 5 * time.Minute

// grantsRead is one reading of a client's permissions and when it was made.
type grantsRead struct {
	grants genesys.Grants
	at     time.Time
}

// permissionCache holds the last reading of each Genesys client's permissions.
var permissionCache = struct {
	sync.Mutex
	reads map[genesys.Client]grantsRead
}{reads: map[genesys.Client]grantsRead{}}

// clientGrants returns the permissions of the activities' Genesys client: the last reading if
// it is younger than permissionCheckTTL and holds every permission in required, else a new
// one. A reading that lacks something is never trusted, so that a permission added since
// counts at once. A client that cannot be a map key (a test double holding a func) is read
// every time.
func (a *Activities) clientGrants(ctx context.Context, required []string) (genesys.Grants, error) {
	c := a.Genesys
	cacheable := reflect.ValueOf(c).Comparable()
	if cacheable {
		permissionCache.Lock()
		r, ok := permissionCache.reads[c]
		permissionCache.Unlock()
		if ok && time.Since(r.at) < permissionCheckTTL && len(r.grants.Missing(required...)) == 0 {
			return r.grants, nil
		}
	}
	g, err := c.Grants(ctx)
	if err == nil && cacheable {
		permissionCache.Lock()
		for k, r := range permissionCache.reads {
			if time.Since(r.at) >= permissionCheckTTL {
				delete(permissionCache.reads, k)
			}
		}
		permissionCache.reads[c] = grantsRead{grants: g, at: time.Now()}
		permissionCache.Unlock()
	}
	return g, err
}
