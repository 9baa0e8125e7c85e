package genesys

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
)

// wireTime formats t as Genesys wants it: UTC with a literal Z (the SDK turns "+00:00" into a
// zero time).
func wireTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func wireInterval(iv Interval) string { return wireTime(iv.Start) + "/" + wireTime(iv.End) }

func userSegmentFilter(userID string) *[]platformclientv2.Segmentdetailqueryfilter {
	and, dim, opMatches, v := "and", "userId", "matches", userID
	return &[]platformclientv2.Segmentdetailqueryfilter{{
		VarType:    &and,
		Predicates: &[]platformclientv2.Segmentdetailquerypredicate{{Dimension: &dim, Operator: &opMatches, Value: &v}},
	}}
}

func checkInterval(op string, iv Interval) error {
	if iv.Start.IsZero() || iv.End.IsZero() || !iv.End.After(iv.Start) {
		return &Error{Kind: KindInvalid, Op: op, Message: fmt.Sprintf("interval %s/%s: start and end must be set and end after start",
			wireTime(iv.Start), wireTime(iv.End))}
	}
	return nil
}

// CreateConversationJob implements Client.
func (c *SDKClient) CreateConversationJob(ctx context.Context, userID string, iv Interval) (string, error) {
	op := "create conversation job for user " + userID
	if err := checkInterval(op, iv); err != nil {
		return "", err
	}
	interval, order, orderBy := wireInterval(iv), "asc", "conversationStart"
	q := platformclientv2.Asyncconversationquery{Interval: &interval, SegmentFilters: userSegmentFilter(userID), Order: &order, OrderBy: &orderBy}
	res, err := fetch(ctx, c.doUnsafe, op, func(cfg *sdkConfiguration) (*platformclientv2.Asyncqueryresponse, *sdkResponse, error) {
		return platformclientv2.NewAnalyticsApiWithConfig(cfg).PostAnalyticsConversationsDetailsJobs(q)
	})
	if err != nil {
		return "", err
	}
	if deref(res.JobId) == "" {
		return "", &Error{Kind: KindInvalid, Op: op, Message: "no jobId in the response"}
	}
	return *res.JobId, nil
}

// ConversationJob implements Client.
func (c *SDKClient) ConversationJob(ctx context.Context, jobID string) (JobStatus, error) {
	st, err := fetch(ctx, c.do, "get conversation job "+jobID, func(cfg *sdkConfiguration) (*platformclientv2.Asyncquerystatus, *sdkResponse, error) {
		return platformclientv2.NewAnalyticsApiWithConfig(cfg).GetAnalyticsConversationsDetailsJob(jobID)
	})
	if err != nil {
		return JobStatus{}, err
	}
	return JobStatus{
		State:          JobState(deref(st.State)),
		ErrorMessage:   deref(st.ErrorMessage),
		SubmissionDate: deref(st.SubmissionDate).UTC(),
		ExpirationDate: deref(st.ExpirationDate).UTC(),
	}, nil
}

// ConversationJobResults implements Client.
func (c *SDKClient) ConversationJobResults(ctx context.Context, jobID, cursor string, pageSize int, each EachConversation) (ResultsPage, error) {
	if pageSize <= 0 {
		pageSize = c.cfg.PageSize
	}
	op := "get conversation job results " + jobID
	var page ResultsPage
	_, err := c.doStreaming(ctx, op, func(body io.Reader) (err error) {
		page, err = decodeResults(op, body, each)
		return err
	}, func(cfg *sdkConfiguration) (*sdkResponse, error) {
		return undecoded(cfg, http.MethodGet, "/api/v2/analytics/conversations/details/jobs/"+url.PathEscape(jobID)+"/results",
			map[string]string{"cursor": cursor, "pageSize": strconv.Itoa(pageSize)}, nil)
	})
	if err != nil {
		return ResultsPage{}, err
	}
	return page, nil
}

// decodeResults reads a results page from body as it arrives and hands each conversation to
// each, holding one conversation at a time, in one buffer it reuses. A body that is not a
// results page is a KindInvalid *Error; a read error (a body cut off in transit) is returned as
// it is, and each's errors as consumerError.
func decodeResults(op string, body io.Reader, each EachConversation) (ResultsPage, error) {
	in := &readErrors{r: body}
	d := &resultsDecoder{op: op, in: in, dec: json.NewDecoder(in), each: each}
	err := d.object()
	return d.page, err
}

// resultsDecoder is one decodeResults: the page read so far.
type resultsDecoder struct {
	op   string
	in   *readErrors
	dec  *json.Decoder
	each EachConversation
	page ResultsPage
}

// object reads the page's JSON object, field by field in any order.
func (d *resultsDecoder) object() error {
	if err := d.delim('{'); err != nil {
		return err
	}
	for d.dec.More() {
		name, err := d.dec.Token()
		if err != nil {
			return d.invalid(err)
		}
		if err := d.field(name); err != nil {
			return err
		}
	}
	return d.delim('}')
}

// field reads the value of the field name, skipping fields a page does not need.
func (d *resultsDecoder) field(name json.Token) error {
	switch name {
	case "conversations":
		return d.conversations()
	case "cursor":
		var cursor *string
		err := d.decode(&cursor)
		d.page.Cursor = deref(cursor)
		return err
	case "dataAvailabilityDate":
		var t *time.Time
		err := d.decode(&t)
		d.page.DataAvailabilityDate = deref(t).UTC()
		return err
	default:
		var skip json.RawMessage
		return d.decode(&skip)
	}
}

// conversations reads the conversations array (or null), handing each conversation to each.
func (d *resultsDecoder) conversations() error {
	tok, err := d.dec.Token()
	if err != nil {
		return d.invalid(err)
	}
	if tok == nil {
		return nil // null: no conversations
	}
	if dl, ok := tok.(json.Delim); !ok || dl != '[' {
		return &Error{Kind: KindInvalid, Op: d.op, Message: fmt.Sprintf("decode results: conversations is %v, not an array", tok)}
	}
	var raw json.RawMessage // reused: each must not keep Raw
	for ; d.dec.More(); d.page.Conversations++ {
		if err := d.decode(&raw); err != nil {
			return err
		}
		conv, err := parseConversation(d.op, d.page.Conversations, raw)
		if err != nil {
			return err
		}
		if err := d.each(d.page.Conversations, conv); err != nil {
			return consumerError{err}
		}
	}
	return d.delim(']')
}

func (d *resultsDecoder) decode(v any) error {
	if err := d.dec.Decode(v); err != nil {
		return d.invalid(err)
	}
	return nil
}

func (d *resultsDecoder) delim(want json.Delim) error {
	tok, err := d.dec.Token()
	if err != nil {
		return d.invalid(err)
	}
	if dl, ok := tok.(json.Delim); !ok || dl != want {
		return &Error{Kind: KindInvalid, Op: d.op, Message: fmt.Sprintf("decode results: found %v where %v was expected", tok, want)}
	}
	return nil
}

// invalid is the error of a decoding failure: the read error if the body was cut off (what was
// read may be incomplete, not invalid), KindInvalid otherwise.
func (d *resultsDecoder) invalid(err error) error {
	if d.in.err != nil {
		return d.in.err
	}
	return &Error{Kind: KindInvalid, Op: d.op, Message: "decode results: " + err.Error()}
}

// readErrors remembers a read error other than io.EOF.
type readErrors struct {
	r   io.Reader
	err error
}

func (r *readErrors) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

func parseConversations(op string, raws []json.RawMessage) ([]Conversation, error) {
	out := make([]Conversation, 0, len(raws))
	for i, raw := range raws {
		c, err := parseConversation(op, i, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// parseConversation reads the head of the i-th conversation of a page.
func parseConversation(op string, i int, raw json.RawMessage) (Conversation, error) {
	var head struct {
		ID    string     `json:"conversationId"`
		Start *time.Time `json:"conversationStart"`
		End   *time.Time `json:"conversationEnd"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.ID == "" {
		msg := fmt.Sprintf("conversation %d has no conversationId", i)
		if err != nil {
			msg = fmt.Sprintf("decode conversation %d: %v", i, err)
		}
		return Conversation{}, &Error{Kind: KindInvalid, Op: op, Message: msg}
	}
	return Conversation{ID: head.ID, Start: deref(head.Start).UTC(), End: deref(head.End).UTC(), Raw: raw}, nil
}

// DeleteConversationJob implements Client.
func (c *SDKClient) DeleteConversationJob(ctx context.Context, jobID string) error {
	_, err := c.do(ctx, "delete conversation job "+jobID, func(cfg *sdkConfiguration) (*sdkResponse, error) {
		return platformclientv2.NewAnalyticsApiWithConfig(cfg).DeleteAnalyticsConversationsDetailsJob(jobID)
	})
	if IsNotFound(err) {
		return nil
	}
	return err
}

// DataAvailability implements Client.
func (c *SDKClient) DataAvailability(ctx context.Context) (time.Time, error) {
	const op = "get conversation jobs availability"
	res, err := fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*platformclientv2.Dataavailabilityresponse, *sdkResponse, error) {
		return platformclientv2.NewAnalyticsApiWithConfig(cfg).GetAnalyticsConversationsDetailsJobsAvailability()
	})
	if err != nil {
		return time.Time{}, err
	}
	if res.DataAvailabilityDate == nil {
		return time.Time{}, &Error{Kind: KindInvalid, Op: op, Message: "no dataAvailabilityDate in the response"}
	}
	return res.DataAvailabilityDate.UTC(), nil
}

// QueryConversations implements Client.
func (c *SDKClient) QueryConversations(ctx context.Context, userID string, iv Interval, pageSize, pageNumber int) (QueryPage, error) {
	op := fmt.Sprintf("query conversations of user %s page %d", userID, pageNumber)
	if err := checkInterval(op, iv); err != nil {
		return QueryPage{}, err
	}
	if pageSize <= 0 {
		pageSize = c.cfg.PageSize
	}
	if pageNumber <= 0 {
		pageNumber = 1
	}
	interval, order, orderBy := wireInterval(iv), "asc", "conversationStart"
	q := platformclientv2.Conversationquery{
		Interval: &interval, SegmentFilters: userSegmentFilter(userID), Order: &order, OrderBy: &orderBy,
		Paging: &platformclientv2.Pagingspec{PageSize: &pageSize, PageNumber: &pageNumber},
	}
	resp, err := c.do(ctx, op, func(cfg *sdkConfiguration) (*sdkResponse, error) {
		return undecoded(cfg, http.MethodPost, "/api/v2/analytics/conversations/details/query", nil, &q)
	})
	if err != nil {
		return QueryPage{}, err
	}
	var body struct {
		Conversations []json.RawMessage `json:"conversations"`
		TotalHits     int               `json:"totalHits"`
	}
	if err := json.Unmarshal(resp.RawBody, &body); err != nil {
		return QueryPage{}, &Error{Kind: KindInvalid, Op: op, Status: resp.StatusCode, CorrelationID: resp.CorrelationID, Message: "decode query: " + err.Error()}
	}
	convs, err := parseConversations(op, body.Conversations)
	if err != nil {
		return QueryPage{}, err
	}
	return QueryPage{Conversations: convs, TotalHits: body.TotalHits}, nil
}
