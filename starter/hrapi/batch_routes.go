package hrapi

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/offboard/offboard/workflows"
)

// IdempotencyKeyHeader names a batch: the same items sent again under the same key answer the
// batch already started, and other items under it are refused.
const IdempotencyKeyHeader = "Idempotency-Key"

// startBatch serves POST /v1/batches: every item is validated as a single start, and any
// invalid one refuses the whole batch (422) before anything is stored or started.
func (s *server) startBatch(w http.ResponseWriter, r *http.Request, who Principal) {
	if wait := s.starts.take(who.Identity, s.svc.now()); wait > 0 {
		tooMany(w, r, wait, "too many starts by "+strconv.Quote(who.Identity))
		return
	}
	id := r.Header.Get(IdempotencyKeyHeader)
	if id == "" {
		id = uuid.NewString()
	} else if p := checkBatchID(IdempotencyKeyHeader, id); p != nil {
		s.fail(w, r, p)
		return
	}
	submitted, maxInFlight, errs, p := decodeBatch(w, r)
	if p == nil {
		maxInFlight, p = batchMaxInFlight(maxInFlight, r.URL.Query().Get("maxInFlight"))
	}
	switch {
	case p != nil:
		s.fail(w, r, p)
		return
	case len(submitted)+len(errs) == 0:
		s.fail(w, r, invalid("the batch has no items: send at least one person", workflows.FieldError{Field: "items", Message: "is empty"}))
		return
	}
	at := s.svc.now()
	items, errs := batchItems(submitted, errs, who.Identity, at, s.svc.Policy)
	if len(errs) > 0 {
		s.fail(w, r, invalidBatch(errs))
		return
	}
	res, err := s.svc.StartBatch(r.Context(), BatchSubmission{ID: id, RequestedBy: who.Identity, RequestedAt: at, Items: items, MaxInFlight: maxInFlight})
	if err == nil {
		w.Header().Set("Location", res.Links.Self)
	}
	code := http.StatusAccepted
	if res.Existing {
		code = http.StatusOK
	}
	s.answer(w, r, code, res, err)
}

// batchMaxInFlight is the batch's bound on offboardings at work: the body's (JSON) or the query's
// (any body, a CSV's in particular), not both.
func batchMaxInFlight(body int, query string) (int, *Problem) {
	bad := func(msg string) (int, *Problem) {
		return 0, invalid("the batch is invalid", workflows.FieldError{Field: "maxInFlight", Message: msg})
	}
	n := body
	if query != "" {
		q, err := strconv.Atoi(query)
		switch {
		case err != nil:
			return bad(strconv.Quote(clip(query)) + " is not a whole number")
		case body != 0:
			return bad("is set in both the body and the query: set it once")
		}
		n = q
	}
	if n < 0 || n > workflows.MaxBatchItems {
		return bad("must be between 1 and " + strconv.Itoa(workflows.MaxBatchItems) + ", or omitted for the default")
	}
	return n, nil
}

// batch serves GET /v1/batches/{batchId}.
func (s *server) batch(w http.ResponseWriter, r *http.Request, _ Principal) {
	q := r.URL.Query()
	bq := BatchQuery{PageToken: q.Get("pageToken")}
	var fields []workflows.FieldError
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fields = append(fields, workflows.FieldError{Field: "pageSize", Message: "must be between 1 and " + strconv.Itoa(workflows.MaxBatchItemsPage)})
		}
		bq.PageSize = n
	}
	if v := q.Get("problems"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fields = append(fields, workflows.FieldError{Field: "problems", Message: "must be true or false"})
		}
		bq.Problems = b
	}
	if len(fields) > 0 {
		s.fail(w, r, invalid("the batch query is invalid", fields...))
		return
	}
	view, err := s.svc.Batch(r.Context(), r.PathValue("batchId"), bq)
	s.answer(w, r, http.StatusOK, view, err)
}

// batchControl serves the control update of a batch: pause, resume or cancel.
func batchControl(update string) handler {
	return func(s *server, w http.ResponseWriter, r *http.Request, who Principal) {
		var body ControlRequest
		if p := decodeBody(w, r, &body, true); p != nil {
			s.fail(w, r, p)
			return
		}
		st, err := s.svc.ControlBatch(r.Context(), r.PathValue("batchId"), update, who, body.Reason)
		s.answer(w, r, http.StatusOK, st, err)
	}
}
