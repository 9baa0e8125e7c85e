package hrapi

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

const batchPath = "/v1/batches/{batchId}"

// testStore is an export store in a fresh directory.
func testStore(t *testing.T) *bundle.Store {
	t.Helper()
	s, err := bundle.Open(context.Background(), "file://"+filepath.ToSlash(t.TempDir()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newBatchAPI is the API over a fakeTemporal and a store in dir.
func newBatchAPI(t *testing.T) (http.Handler, *fakeTemporal, *bundle.Store, string) {
	t.Helper()
	dir := t.TempDir()
	store, err := bundle.Open(context.Background(), "file://"+filepath.ToSlash(dir))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	h, temporal, _ := newTestAPI(t, func(o *Options) { o.Store = store })
	return h, temporal, store, dir
}

// batchItem is the JSON of one item naming the person by field.
func batchItem(field, value, disposition, event string) string {
	return `{"` + field + `":"` + value + `","disposition":"` + disposition + `","reason":"resigned","hrEventId":"` + event + `"}`
}

func batchJSON(items ...string) string { return `{"items":[` + strings.Join(items, ",") + `]}` }

func asHRWith(contentType, key string) map[string]string {
	h := map[string]string{"Authorization": "Bearer " + hrSecret, "Content-Type": contentType}
	if key != "" {
		h[IdempotencyKeyHeader] = key
	}
	return h
}

// itemErrorsOf is the problem's item errors as "line field" strings.
func itemErrorsOf(t *testing.T, a answer) []string {
	t.Helper()
	p := problemOf(t, a)
	require.Equal(t, TypeInvalidBatch, p.Type, a.body)
	var out []string
	for _, e := range p.Items {
		out = append(out, strings.TrimSpace(strconv.Itoa(e.Line)+" "+e.Field))
	}
	return out
}

// assertNothingStored checks that no batch reached the store or Temporal.
func assertNothingStored(t *testing.T, temporal *fakeTemporal, dir string) {
	t.Helper()
	assert.Zero(t, temporal.count("ExecuteWorkflow"), "nothing started")
	_, err := os.Stat(filepath.Join(dir, "batches"))
	assert.True(t, os.IsNotExist(err), "nothing stored")
}

func Test_GivenAJSONBatchWithSeveralInvalidItems_ShouldReportEachWithItsLineAndStoreOrStartNothing(t *testing.T) {
	h, temporal, _, dir := newBatchAPI(t)
	body := batchJSON(
		batchItem("userId", uid, "archive", "e1"),
		batchItem("userId", uid, "purge", "e2"),
		`{"email":"ada@example.com","disposition":"archive"}`,
		batchItem("userId", strings.ToUpper(uid), "delete", "e4"),
		`{"userId":"`+uid+`","disposition":"archive","reason":"r","hrEventId":"e5","approver":"me"}`,
		batchItem("employeeId", "E1", "archive", "e6"),
		`"not an object"`,
	)
	a := send(h, "POST", "/v1/batches", body, asHR())
	require.Equal(t, http.StatusUnprocessableEntity, a.code, a.body)
	assert.Equal(t, []string{"2 disposition", "3 reason", "3 hrEventId", "4 userId", "5 approver", "7"}, itemErrorsOf(t, a))
	assert.Contains(t, a.body, "the item must be a JSON object")
	assert.Contains(t, a.body, "same person as line 1")
	assertNothingStored(t, temporal, dir)
}

func Test_GivenACSVBatchWithInvalidRows_ShouldReportEachWithItsCSVLineAndStoreOrStartNothing(t *testing.T) {
	h, temporal, _, dir := newBatchAPI(t)
	csv := "email,disposition,reason,hrEventId,dryRun\n" +
		"ada@example.com,archive,\"resigned,\nsee ticket\",e1,\n" + // lines 2-3: a line break is a control character
		"bob@example.com,purge,resigned,e2,\n" + // line 4
		"cy@example.com,archive,resigned,e3,\n" + // line 5: valid
		"CY@example.com,archive,resigned,e4,\n" + // line 6: Cy again
		"dee@example.com,archive,resigned\n" + // line 7: ragged
		"eve@example.com,archive,resigned,e5,maybe\n" // line 8
	a := send(h, "POST", "/v1/batches", csv, asHRWith("text/csv", ""))
	require.Equal(t, http.StatusUnprocessableEntity, a.code, a.body)
	assert.Equal(t, []string{"2 reason", "4 disposition", "6 email", "7", "8 dryRun"}, itemErrorsOf(t, a))
	assert.Contains(t, a.body, "same person as line 5")
	assertNothingStored(t, temporal, dir)
}

func Test_GivenMalformedBatches_ShouldAnswerAClearErrorAndStoreOrStartNothing(t *testing.T) {
	header := "userId,disposition,reason,hrEventId\n"
	row := uid + ",archive,resigned,e1\n"
	many := strings.Repeat(`{},`, workflows.MaxBatchItems) + `{}`
	for _, c := range []struct {
		name, contentType, body string
		code                    int
		want                    string
	}{
		{"empty CSV", "text/csv", "", 400, "the CSV is empty"},
		{"header only", "text/csv", header, 400, "no items"},
		{"unknown column", "text/csv", "userId,disposition,reason,hrEventId,approver\n" + uid + ",archive,r,e,me\n", 400, `"approver"`},
		{"missing column", "text/csv", "userId,disposition\n" + uid + ",archive\n", 400, `"reason"`},
		{"bad quoting", "text/csv", header + uid + ",archive,\"resi\"gned\",e1\n", 400, "line 2"},
		{"UTF-16", "text/csv", "\xff\xfeu\x00", 400, "UTF-16"},
		{"not UTF-8", "text/csv", header + uid + ",archive,r\xff,e1\n", 400, "UTF-8"},
		{"too many CSV rows", "text/csv", header + strings.Repeat(row, workflows.MaxBatchItems+1), 400, "more than 10000"},
		{"too many JSON items", "application/json", `{"items":[` + many + `]}`, 400, "more than 10000"},
		{"no items", "application/json", `{}`, 400, "items"},
		{"empty items", "application/json", `{"items":[]}`, 400, "no items"},
		{"items twice", "application/json", `{"items":[],"items":[]}`, 400, "more than once"},
		{"miscased member", "application/json", `{"Items":[]}`, 400, "case-sensitive"},
		{"bad maxInFlight", "application/json", `{"items":[` + batchItem("userId", uid, "archive", "e1") + `],"maxInFlight":-1}`, 400, "maxInFlight"},
		{"plain text", "text/plain", header + row, 415, "text/csv"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, temporal, _, dir := newBatchAPI(t)
			a := send(h, "POST", "/v1/batches", c.body, asHRWith(c.contentType, ""))
			require.Equal(t, c.code, a.code, a.body)
			assert.Contains(t, a.body, c.want)
			assertNothingStored(t, temporal, dir)
		})
	}
}

// checkStartedBatch checks the one batch started: its options, its stored items read back,
// and its start credential, which the workflow verifies with the policy's keys.
func checkStartedBatch(t *testing.T, temporal *fakeTemporal, store *bundle.Store, batchID string) []workflows.BatchItem {
	t.Helper()
	require.Len(t, temporal.batches, 1)
	b := temporal.batches[0]
	assert.Equal(t, workflows.BatchWorkflowID(batchID), b.opts.ID)
	assert.Equal(t, workflows.TaskQueue, b.opts.TaskQueue)
	got, ok := b.opts.TypedSearchAttributes.GetKeyword(workflows.KeyBatchID)
	assert.True(t, ok && got == batchID, "search attribute %s", workflows.SABatchID)
	assert.NotContains(t, b.opts.StaticSummary, "@", "no personal data in the summary")
	assert.Equal(t, batchID, b.in.BatchID)
	assert.Equal(t, "workday", b.in.RequestedBy)
	assert.Equal(t, now, b.in.RequestedAt)

	raw, err := store.ReadBatchItems(context.Background(), b.in.Items, 0, workflows.MaxBatchItems)
	require.NoError(t, err, "the stored items match the digest the input binds")
	var items []workflows.BatchItem
	for _, r := range raw {
		var it workflows.BatchItem
		require.NoError(t, json.Unmarshal(r, &it))
		assert.Equal(t, "workday", it.Request.RequestedBy)
		assert.Equal(t, now, it.Request.RequestedAt)
		assert.Empty(t, it.Request.Credential)
		items = append(items, it)
	}

	keys, err := credential.ParseKeySet(testPolicy().DecisionKeys)
	require.NoError(t, err)
	c, err := keys.Verify(b.in.Credential, b.in.RequestedAt)
	require.NoError(t, err, "the workflow verifies the start credential at RequestedAt")
	assert.Equal(t, credential.ActionStart, c.Action)
	assert.Equal(t, credential.RoleHR, c.Role)
	assert.Equal(t, "workday", c.Identity)
	assert.Equal(t, workflows.BatchWorkflowID(batchID), c.WorkflowID)
	assert.Equal(t, workflows.BatchDigest(b.in), c.Request, "the credential binds the input's digest")
	return items
}

func Test_GivenAGoodJSONBatch_ShouldStoreItsItemsAndStartTheBatchWithASignedInput(t *testing.T) {
	h, temporal, store, _ := newBatchAPI(t)
	body := `{"items":[` + batchItem("userId", strings.ToUpper(uid), "delete", "e1") + `,` + batchItem("email", "ada@example.com", "archive", "e2") + `],"maxInFlight":5}`
	a := send(h, "POST", "/v1/batches", body, asHRWith("application/json", "leavers-2030-01"))
	require.Equal(t, http.StatusAccepted, a.code, a.body)
	var res BatchResult
	require.NoError(t, json.Unmarshal([]byte(a.body), &res))
	assert.Equal(t, BatchResult{BatchID: "leavers-2030-01", WorkflowID: "batch-leavers-2030-01", RunID: "run-1", Total: 2, Links: batchLinks("leavers-2030-01")}, res)
	assert.Equal(t, "/v1/batches/leavers-2030-01", a.header.Get("Location"))

	items := checkStartedBatch(t, temporal, store, "leavers-2030-01")
	require.Len(t, items, 2)
	assert.Equal(t, 1, items[0].Line)
	assert.Equal(t, uid, items[0].Request.UserID, "normalised as a single start is")
	assert.Equal(t, 2, items[1].Line)
	assert.Equal(t, &workflows.Identification{By: workflows.IdentifyByEmail, Value: "ada@example.com"}, items[1].Request.IdentifiedBy)
	assert.Equal(t, 5, temporal.batches[0].in.MaxInFlight)
	assert.Equal(t, "batch of 2 (1 archive, 1 delete) by workday", temporal.batches[0].opts.StaticSummary)
}

func Test_GivenAGoodCSVBatch_ShouldStoreItsRowsWithTheirLinesAndStartTheBatch(t *testing.T) {
	h, temporal, store, _ := newBatchAPI(t)
	csv := "\ufeffemployeeId,disposition,reason,hrEventId,dryRun,retention\n" +
		"E1,archive,\"resigned, see ticket\",e1,,\n" +
		"E2,delete,resigned,e2,true,P30D\n"
	a := send(h, "POST", "/v1/batches?maxInFlight=3", csv, asHRWith("text/csv; charset=utf-8", ""))
	require.Equal(t, http.StatusAccepted, a.code, a.body)
	var res BatchResult
	require.NoError(t, json.Unmarshal([]byte(a.body), &res))
	_, err := uuid.Parse(res.BatchID)
	assert.NoError(t, err, "without an Idempotency-Key the batch ID is a random UUID")

	items := checkStartedBatch(t, temporal, store, res.BatchID)
	require.Len(t, items, 2)
	assert.Equal(t, []int{2, 3}, []int{items[0].Line, items[1].Line})
	assert.Equal(t, "resigned, see ticket", items[0].Request.Reason)
	assert.True(t, items[1].Request.DryRun)
	assert.Equal(t, workflows.IdentifyByEmployeeID, items[1].Request.IdentifiedBy.By)
	assert.Equal(t, 3, temporal.batches[0].in.MaxInFlight)
}

func Test_GivenOtherItemsUnderAnIdempotencyKeyUsedBefore_ShouldAnswer409AndStartNothingMore(t *testing.T) {
	h, temporal, _, _ := newBatchAPI(t)
	a := send(h, "POST", "/v1/batches", batchJSON(batchItem("userId", uid, "archive", "e1")), asHRWith("application/json", "k1"))
	require.Equal(t, http.StatusAccepted, a.code, a.body)
	a = send(h, "POST", "/v1/batches", batchJSON(batchItem("userId", uid, "delete", "e1")), asHRWith("application/json", "k1"))
	require.Equal(t, http.StatusConflict, a.code, a.body)
	assert.Contains(t, a.body, "Idempotency-Key")
	assert.Len(t, temporal.batches, 1)

	a = send(h, "POST", "/v1/batches", batchJSON(batchItem("userId", uid, "archive", "e1")), asHRWith("application/json", "not a key"))
	require.Equal(t, http.StatusBadRequest, a.code, a.body)
	assert.Contains(t, a.body, IdempotencyKeyHeader)
}

func Test_GivenNoExportStore_ShouldAnswerBatchesOffAndStartNothing(t *testing.T) {
	h, temporal, _ := newTestAPI(t, nil)
	a := send(h, "POST", "/v1/batches", batchJSON(batchItem("userId", uid, "archive", "e1")), asHR())
	require.Equal(t, http.StatusServiceUnavailable, a.code, a.body)
	assert.Equal(t, TypeBatchesOff, problemOf(t, a).Type)
	assert.Zero(t, temporal.count("ExecuteWorkflow"))
}

// fullBatchStatus is a batch status with every field set.
func fullBatchStatus(batchID string) workflows.BatchStatus {
	return workflows.BatchStatus{BatchID: batchID, RequestedBy: "workday", RequestedAt: now, State: workflows.BatchRunning,
		Total: 3, Started: 2, InFlight: 1, MaxInFlight: 10, Items: map[workflows.ItemOutcome]int{workflows.ItemPending: 1, "archived": 1, workflows.ItemUnresolved: 1},
		Problems: 1, AccessEnded: 1, LastAccessEndedAt: now, FinishedAt: now}
}

// batchAnswer is what a batch answers its queries with.
func batchAnswer(batchID, query string) jsonValue {
	if query == workflows.QueryBatchItems {
		return jsonValue{v: workflows.BatchItemsPage{Total: 3, Next: 2, Items: []workflows.BatchItemStatus{{Line: 2, UserID: uid, WorkflowID: workflows.WorkflowID(uid),
			RunID: "run-1", Outcome: "archived", AccessEndedAt: now, FinishedAt: now, Error: "none"}}}}
	}
	return jsonValue{v: fullBatchStatus(batchID)}
}

// batchContractCalls cover the batch routes.
func batchContractCalls() []contractCall {
	good := batchJSON(batchItem("userId", uid, "archive", "e1"))
	csv := "userId,disposition,reason,hrEventId\n" + uid + ",archive,resigned,e1\n"
	b := "/v1/batches/b-1"
	auditorJSON := map[string]string{"Authorization": "Bearer " + auditorSecret, "Content-Type": "application/json"}
	return []contractCall{
		{name: "batch", mode: absent, method: "POST", path: "/v1/batches", body: good, header: asHRWith("application/json", "b-1"), code: 202},
		{name: "batch CSV", mode: absent, method: "POST", path: "/v1/batches?maxInFlight=2", body: csv, header: asHRWith("text/csv", ""), code: 202},
		{name: "batch again", method: "POST", path: "/v1/batches", body: good, header: asHRWith("application/json", "b-1"), code: 200},
		{name: "batch invalid items", mode: absent, method: "POST", path: "/v1/batches", body: batchJSON(batchItem("userId", uid, "archive", "e1"), batchItem("userId", uid, "delete", "e2")), header: asHR(), code: 422},
		{name: "batch malformed", mode: absent, method: "POST", path: "/v1/batches", body: `{"items":1}`, header: asHR(), code: 400},
		{name: "batch as text", mode: absent, method: "POST", path: "/v1/batches", body: csv, header: asHRWith("text/plain", ""), code: 415},
		{name: "batch as auditor", method: "POST", path: "/v1/batches", body: good, header: auditorJSON, code: 403},
		{name: "batch Temporal down", mode: down, method: "POST", path: "/v1/batches", body: good, header: asHR(), code: 503},
		{name: "batch status", method: "GET", path: b + "?pageSize=1&problems=false", header: asAuditor(), code: 200},
		{name: "batch status unknown", mode: absent, method: "GET", path: b, header: asAuditor(), code: 404},
		{name: "batch status bad page", method: "GET", path: b + "?pageToken=x", header: asAuditor(), code: 400},
		{name: "batch pause", method: "POST", path: b + "/pause", body: `{"reason":"payroll check"}`, header: asHR(), code: 200},
		{name: "batch resume", method: "POST", path: b + "/resume", header: asHR(), code: 200},
		{name: "batch cancel", method: "POST", path: b + "/cancel", header: asHR(), code: 200},
		{name: "batch cancel finished", mode: finished, method: "POST", path: b + "/cancel", header: asHR(), code: 409},
		{name: "batch pause unknown", mode: absent, method: "POST", path: b + "/pause", header: asHR(), code: 404},
		{name: "batch resume as auditor", method: "POST", path: b + "/resume", header: asAuditor(), code: 403},
	}
}
