package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/webhook"
)

// Notify posts the event to the webhook, signed the Standard Webhooks way with the first of
// WebhookSecrets; without a webhook it does nothing, and without a secret it refuses to post
// (the worker refuses to start so). The body is a NotificationBody: its event ID, also the
// webhook-id and Idempotency-Key headers, is the same on every retry of this activity and
// unique per event, so that a receiver drops duplicates. An approval.requested or
// approval.reminder carries approval links for LinksFor (Links.Issue); they are made here
// and never returned, so that no credential enters the workflow's history. Errors name the
// webhook's host only: its path may hold a token.
//
// Retry: default policy; 5xx, 429 (after Retry-After) and transport errors are retried,
// other 4xx (ErrWebhookRejected) are final.
func (a *Activities) Notify(ctx context.Context, n Notification) error {
	if a.WebhookURL == "" {
		return nil
	}
	req, host, err := a.webhookRequest(ctx, n)
	if err != nil {
		return err
	}
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the full URL
		}
		return failure(ErrWebhookUnavailable, nil, fmt.Sprintf("post %s event to webhook %s: %v", n.Event, host, err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return webhookOutcome(resp, host, n.Event)
}

// eventID is the notification's event ID in this activity: the run and activity IDs, which stay
// the same on every attempt and differ between events.
func eventID(ctx context.Context) (string, error) {
	if !activity.IsActivity(ctx) {
		return "", failf(ErrInvalidInput, "a notification gets its event ID from the activity that sends it; call Notify as an activity")
	}
	info := activity.GetInfo(ctx)
	return info.WorkflowExecution.RunID + "/" + info.ActivityID, nil
}

// webhookRequest builds the signed POST of n to the webhook, and returns the webhook's scheme and
// host for messages.
func (a *Activities) webhookRequest(ctx context.Context, n Notification) (*http.Request, string, error) {
	u, err := url.Parse(a.WebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", failf(ErrInvalidInput, "the notification webhook URL is not an absolute http(s) URL; fix the worker's webhook setting")
	}
	host := u.Scheme + "://" + u.Host
	if len(a.WebhookSecrets) == 0 {
		return nil, "", failf(ErrInvalidInput, "the worker has no webhook secret, and an unsigned notification is worthless to its receiver; set OFFBOARD_WEBHOOK_SECRET_FILE")
	}
	id, err := eventID(ctx)
	if err != nil {
		return nil, "", err
	}
	sent := a.now()
	if n.At.IsZero() {
		n.At = sent
	}
	b := NotificationBody{Notification: n, EventID: id}
	if decides(n.Event) {
		b.Links, b.LinksNote = a.Links.Issue(n, sent)
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, "", failf(ErrInvalidInput, "encode notification: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return nil, "", failf(ErrInvalidInput, "build webhook request to %s: invalid URL", host)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "offboard")
	// Kept for receivers that deduplicated on it before webhook-id: the same event ID.
	req.Header.Set("Idempotency-Key", id)
	webhook.Sign(req.Header, a.WebhookSecrets[0], id, sent, body)
	return req, host, nil
}

// webhookOutcome turns the webhook's answer into the activity's result: retryable, after
// Retry-After if it gives one, for 5xx, 429 and 408; final for other 4xx.
func webhookOutcome(resp *http.Response, host, event string) error {
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return nil
	case s == http.StatusTooManyRequests || s >= 500 || s == http.StatusRequestTimeout:
		var delay time.Duration
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			delay = time.Duration(secs) * time.Second
		}
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("webhook %s answered %s to the %s event", host, resp.Status, event),
			ErrWebhookUnavailable, temporal.ApplicationErrorOptions{NextRetryDelay: delay})
	default:
		return failf(ErrWebhookRejected, "webhook %s rejected the %s event with %s; check the receiver", host, event, resp.Status)
	}
}
