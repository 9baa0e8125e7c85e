// Package deploy holds the configuration files of the docker compose stack (Temporal setup
// scripts, dynamic config, example tokens and Genesys settings) and the test that checks
// docker-compose.yml and the Dockerfile against the code. It has no Go code of its own.
package deploy
