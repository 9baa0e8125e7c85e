package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/offboard/offboard/genesys/emulator"
)

func call(method, path string, status int, body string) emulator.Call {
	return emulator.Call{Method: method, Path: path, Status: status, BodySHA256: body}
}

func Test_GivenACallLog_ShouldReportOnlyAcceptedWritesToOneTargetDoneTwice(t *testing.T) {
	const user = "/api/v2/users/u1"
	const jobs = "/api/v2/analytics/conversations/details/jobs"
	calls := []emulator.Call{
		call(http.MethodPatch, user, 200, "a"),
		call(http.MethodPatch, user, 409, "a"), // refused: changed nothing
		call(http.MethodDelete, user, 200, ""),
		call(http.MethodDelete, user, 200, ""), // a user deleted twice
		call(http.MethodGet, user, 200, ""),    // reads repeat freely
		call(http.MethodGet, user, 200, ""),
		call(http.MethodPost, jobs, 202, "j"), // a job created again after a crash
		call(http.MethodPost, jobs, 202, "j"),
		call(http.MethodPost, "/api/v2/routing/queues/q1/members", 204, "u1"),
		call(http.MethodPost, "/api/v2/routing/queues/q1/members", 204, "u2"), // another member
		call(http.MethodPost, "/api/v2/routing/queues/q2/members", 204, "u1"),
		call(http.MethodPost, "/api/v2/routing/queues/q2/members", 204, "u1"), // the same member twice
		call(http.MethodDelete, "/api/v2/tokens/u1", 204, ""),
		call(http.MethodDelete, "/api/v2/tokens/u1", 204, ""), // no read-back: a retry repeats it
	}
	duplicates, repeats := duplicatedSideEffects(calls)
	assert.Equal(t, []string{
		"DELETE /api/v2/users/u1 ×2",
		"POST /api/v2/routing/queues/q2/members body u1 ×2",
	}, duplicates)
	assert.Equal(t, []string{"DELETE /api/v2/tokens/u1 ×2"}, repeats)

	duplicates, repeats = duplicatedSideEffects(calls[:3])
	assert.Empty(t, append(duplicates, repeats...), "one accepted write and a refused one are no duplicate")
}

func Test_GivenACallLog_ShouldCountCalls429sAndJobsCreatedAndDeleted(t *testing.T) {
	const jobs = "/api/v2/analytics/conversations/details/jobs"
	total, limited, created, deleted := tally([]emulator.Call{
		call(http.MethodPost, jobs, 202, ""),
		call(http.MethodPost, jobs, 202, ""),
		call(http.MethodPost, jobs, 429, ""),
		call(http.MethodGet, jobs+"/j1", 200, ""),
		call(http.MethodDelete, jobs+"/j1", 204, ""),
		call(http.MethodDelete, jobs+"/j2", 429, ""),
	})
	assert.Equal(t, [4]int{6, 2, 2, 1}, [4]int{total, limited, created, deleted})
}

func Test_GivenSettingsTheTestCannotRunWith_ShouldRefuseThemNamingTheFlag(t *testing.T) {
	ok := settings{bin: "b", work: "w", runs: 1, workers: 1, apis: 2, rateLimit: 1, budget: 1, deletesPerFive: 2, faults: faultNames, workload: workloadFaults}
	assert.NoError(t, ok.check())

	bad := ok
	bad.apis, bad.deletesPerFive, bad.faults, bad.work, bad.workload = 1, 6, []string{"kill", "flood"}, "", "bulk"
	err := bad.check()
	for _, want := range []string{"--apis 1", "--deletes-per-five 6", `unknown fault "flood"`, "--work are required", `--workload "bulk"`} {
		assert.ErrorContains(t, err, want)
	}
}
