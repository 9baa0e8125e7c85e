package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/internal/config"
)

// testPayloadKeys is the payload keyring of these tests (test only: never use it elsewhere).
const testPayloadKeys = "starter-test:c3RhcnRlci10ZXN0LW9ubHktcGF5bG9hZC1rZXktMDE="

func testPayloadCodec() converter.PayloadCodec {
	pc, err := config.Source{Env: config.MapEnv{config.EnvPayloadKeys: testPayloadKeys}}.PayloadCodec()
	if err != nil {
		panic(err)
	}
	return pc
}

func testDataConverter() converter.DataConverter { return config.DataConverter(testPayloadCodec()) }

func Test_GivenKeysPayload_ShouldPrintAFreshKeyringLineThatTheProcessesAccept(t *testing.T) {
	code, first, stderr := runStarter(t, "keys", "payload")
	require.Equal(t, 0, code, stderr)
	_, second, _ := runStarter(t, "keys", "payload", "--id", "2026-12")

	line := strings.TrimSpace(first)
	_, err := config.Source{Env: config.MapEnv{config.EnvPayloadKeys: line}}.PayloadCodec()
	require.NoError(t, err, "the printed line is a keyring")
	assert.Regexp(t, `^k\d{8}-[0-9a-f]{4}:[A-Za-z0-9+/]{43}=$`, line)
	assert.True(t, strings.HasPrefix(second, "2026-12:"), second)
	assert.NotEqual(t, strings.SplitN(line, ":", 2)[1], strings.SplitN(strings.TrimSpace(second), ":", 2)[1], "every key is new")

	code, _, stderr = runStarter(t, "keys", "payload", "--id", "not an id")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--id")
}

func Test_GivenNoPayloadKeys_ShouldRefuseToServeOrDialSayingHowToMakeThem(t *testing.T) {
	for _, args := range [][]string{{"serve"}, {"status", "3f2504e0-4f89-41d3-9a0c-0305e82c3301"}, {"list"}} {
		code, _, stderr := runStarter(t, args...)

		assert.Equal(t, 1, code, "%v: %s", args, stderr)
		assert.Contains(t, stderr, config.EnvPayloadKeysFile, "%v", args)
		assert.Contains(t, stderr, "starter keys payload", "%v", args)
	}
	code, out, _ := runStarter(t, "status", "--help")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "--payload-keys-file", "every command that dials Temporal takes the keyring")
}
