// Package stack runs Offboard's local development stack in one process: a real Temporal server
// with SQLite file persistence, the Temporal Web UI, the Genesys emulator, the worker and the HR
// API. The devstack command is a thin shell over it; the end-to-end tests reuse its pieces.
package stack
