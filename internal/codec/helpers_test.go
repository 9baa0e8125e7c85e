package codec

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// Shapes of the workflow's payloads (activities.UserSnapshot and a credential), kept local so
// the codec's tests do not depend on the activities package.
type role struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

type user struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	DivisionID   string `json:"divisionId,omitempty"`
	DivisionName string `json:"divisionName,omitempty"`
	State        string `json:"state"`
	Version      int    `json:"version"`
	Roles        []role `json:"roles,omitempty"`
	ManagerID    string `json:"managerId,omitempty"`
}

type snapshot struct {
	User    user      `json:"user"`
	TakenAt time.Time `json:"takenAt"`
}

type credentialInput struct {
	RunID      string `json:"runId"`
	Credential string `json:"credential"`
}

const (
	testName  = "Ada Lovelace"
	testEmail = "ada.lovelace@example.com"
)

// uuid is a random-looking but reproducible UUID, as Genesys IDs are random.
func uuid(i int) string {
	r := mrand.New(mrand.NewPCG(uint64(i), 42))
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", r.Uint32(), r.Uint32N(1<<16), r.Uint32N(1<<12), 0x8000|r.Uint32N(1<<14), r.Uint64N(1<<48))
}

var roleNames = []string{
	"employee", "Communicate - User", "PureCloud User", "Supervisor", "Quality Evaluator",
	"Outbound Agent", "Speech and Text Analytics Viewer", "Workforce Management Agent",
	"Reporting - Queue Activity", "Recording Viewer", "Knowledge Author", "Architect Viewer",
	"Script Designer", "Team Lead EMEA", "Billing Queue Member", "Complaints Handler",
}

// snapshotPayload is a user snapshot with roles enough to weigh a few KB, as the default data
// converter writes it.
func snapshotPayload(tb testing.TB, roles int) *commonpb.Payload {
	tb.Helper()
	u := user{
		ID: uuid(0), Name: testName, Email: testEmail, DivisionID: uuid(1),
		DivisionName: "Customer Care EMEA", State: "active", Version: 7, ManagerID: uuid(2),
	}
	for i := range roles {
		u.Roles = append(u.Roles, role{ID: uuid(100 + i), Name: roleNames[i%len(roleNames)] + fmt.Sprintf(" (%s)", []string{"EMEA", "Paris", "Lyon", "Night shift"}[i%4])})
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(snapshot{User: u, TakenAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)})
	require.NoError(tb, err)
	return p
}

// credentialPayload is a small payload of mostly random bytes, like a signed token.
func credentialPayload(tb testing.TB) *commonpb.Payload {
	tb.Helper()
	random := make([]byte, 180)
	_, _ = rand.Read(random)
	p, err := converter.GetDefaultDataConverter().ToPayload(credentialInput{
		RunID: uuid(9), Credential: "eyJhbGciOiJFZERTQSJ9." + base64.RawURLEncoding.EncodeToString(random),
	})
	require.NoError(tb, err)
	return p
}

func testKey(b byte) string {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = b + byte(i)
	}
	return base64.StdEncoding.EncodeToString(key)
}

func mustKeyring(tb testing.TB, text string) *Keyring {
	tb.Helper()
	k, err := ParseKeyring(text)
	require.NoError(tb, err)
	return k
}

func mustCodec(tb testing.TB, text string, opts Options) converter.PayloadCodec {
	tb.Helper()
	c, err := NewCodecWithOptions(mustKeyring(tb, text), opts)
	require.NoError(tb, err)
	return c
}
