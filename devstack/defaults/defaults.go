// Package defaults holds the local stack's default addresses. It imports nothing, so the compose
// file's test can check its ports without linking the Temporal server.
package defaults

// Default addresses of the local stack; docker-compose.yml publishes the same ports on 127.0.0.1,
// except the emulator's, which it keeps inside the compose network.
const (
	Host         = "127.0.0.1"
	TemporalPort = 7233 // Temporal frontend gRPC
	UIPort       = 8233 // Temporal Web UI
	EmulatorPort = 9090 // Genesys emulator
	APIPort      = 8080 // HR API
	MetricsPort  = 9464 // worker /metrics and /healthz
	Namespace    = "default"
	DataDir      = ".devstack"
)
