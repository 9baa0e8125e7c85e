package emulator_test

import (
	"net/http/httptest"
	"testing"

	"github.com/offboard/offboard/genesys/emulator"
)

func newServer(t testing.TB, emu *emulator.Emulator) string {
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return srv.URL
}
