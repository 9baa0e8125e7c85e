// Package deploy holds the configuration files of the docker compose stack (Temporal setup
// scripts, dynamic config, example tokens and Genesys settings) and the Grafana dashboard of the
// worker's metrics (grafana/), with the tests that check docker-compose.yml, the Dockerfile and
// the dashboard against the code, and the cluster test (cluster-test.sh, whose driver is the
// clustertest command). It has no Go code of its own.
package deploy
