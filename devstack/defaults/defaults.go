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

// Temporal on PostgreSQL, as docker-compose.yml's temporal service, deploy/temporal/setup-postgres.sh
// and deploy/postgres.sh set it up; deploy's test keeps them in step.
const (
	PostgresPlugin   = "postgres12" // the server's SQL persistence plugin
	PostgresUser     = "temporal"
	TemporalDatabase = "temporal"
	// VisibilitySuffix names the visibility database after the main one: temporal_visibility.
	VisibilitySuffix = "_visibility"
	// PostgresShards is the history shard count; the first start fixes it in the database for good.
	PostgresShards = 4
)
