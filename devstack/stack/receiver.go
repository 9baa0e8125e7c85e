package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/pace"
	"github.com/offboard/offboard/internal/webhook"
)

// DevWebhookSecret signs the devstack's notifications unless OFFBOARD_WEBHOOK_SECRET(_FILE)
// names another. It is public and only ever signs the local stack's notifications.
const DevWebhookSecret = "whsec_b2ZmYm9hcmQtZGV2LW5vdGlmaWNhdGlvbi1zZWNyZXQ="

// Arrival is one notification the devstack's receiver got.
type Arrival struct {
	// ID is the delivery's webhook-id; Verified says whether its signature matched.
	ID       string
	Verified bool
	// Problem says why a delivery was refused.
	Problem string
	Body    activities.NotificationBody
}

// Receiver is the devstack's own notification receiver: it verifies each delivery with the
// notification secret, as a receiver should, prints each arrival and keeps them for the demo.
type Receiver struct {
	// URL is where the worker posts.
	URL string

	verifier *webhook.Verifier
	out      io.Writer
	mu       sync.Mutex
	arrivals []Arrival
}

// maxNotificationBytes bounds a delivery the receiver reads; a notification is a few KiB.
const maxNotificationBytes = 1 << 20

// orDevSecret is secrets, the operator's, or else the one dev secret; dev says it is the latter.
// The devstack's HR events and notifications fall back to their dev secrets alike.
func orDevSecret(secrets []webhook.Secret, devSecret string) (_ []webhook.Secret, dev bool, err error) {
	if len(secrets) > 0 {
		return secrets, false, nil
	}
	s, err := webhook.ParseSecret(devSecret)
	return []webhook.Secret{s}, true, err
}

// newReceiver is a receiver that verifies with secrets and prints to out (nil: standard output).
func newReceiver(secrets []webhook.Secret, out io.Writer) (*Receiver, error) {
	v, err := webhook.NewVerifier(secrets, 0, nil)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = os.Stdout
	}
	return &Receiver{verifier: v, out: out}, nil
}

// ServeHTTP verifies a delivery over the bytes received, answers 204 (401 when it does not
// verify), and prints it.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxNotificationBytes))
	if err != nil {
		http.Error(w, "the notification is too large", http.StatusRequestEntityTooLarge)
		return
	}
	a := Arrival{ID: req.Header.Get(webhook.HeaderID)}
	if _, err := r.verifier.Verify(req.Header, body); err != nil {
		a.Problem = err.Error()
	} else if err := json.Unmarshal(body, &a.Body); err != nil {
		a.Problem = "the body is not a notification"
	} else {
		a.Verified = true
	}
	r.mu.Lock()
	r.arrivals = append(r.arrivals, a)
	r.mu.Unlock()
	if !a.Verified {
		fmt.Fprintf(r.out, "  notification REFUSED id %s: %s\n", a.ID, a.Problem)
		http.Error(w, a.Problem, http.StatusUnauthorized)
		return
	}
	fmt.Fprintf(r.out, "  notification %-22s id %s  verified, %d link(s)\n", a.Body.Event, a.ID, len(a.Body.Links))
	w.WriteHeader(http.StatusNoContent)
}

// Arrivals returns what the receiver got so far, in order.
func (r *Receiver) Arrivals() []Arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Arrival(nil), r.arrivals...)
}

// Await waits up to the context's deadline for a verified notification of event about
// workflowID, and returns the first.
func (r *Receiver) Await(ctx context.Context, workflowID, event string) (Arrival, error) {
	a, err := pace.Until(ctx, pace.Delays(50*time.Millisecond, 50*time.Millisecond, 0), pace.Sleep, func(context.Context) (Arrival, bool, error) {
		for _, a := range r.Arrivals() {
			if a.Verified && a.Body.WorkflowID == workflowID && a.Body.Event == event {
				return a, true, nil
			}
		}
		return Arrival{}, false, nil
	})
	if err != nil {
		return Arrival{}, fmt.Errorf("no verified %s notification of %s arrived: %w", event, workflowID, err)
	}
	return a, nil
}

// startReceiver runs the devstack's receiver on a free port of host, until the stack stops.
func (s *Stack) startReceiver(host string, secrets []webhook.Secret, out io.Writer) error {
	rcv, err := newReceiver(secrets, out)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("notification receiver: %w", err)
	}
	rcv.URL = "http://" + ln.Addr().String() + "/notifications"
	serve(s.group, s.ctx, ln, rcv, "notification receiver")
	s.Receiver, s.WebhookURL = rcv, rcv.URL
	return nil
}

// notifications sets up the worker's notifications: to the operator's URL, else to the stack's
// own receiver; signed with the operator's secrets, else the dev secret; with approval links to
// the stack's HR API, signed with the stack's decision key in the worker's name.
func (s *Stack) notifications(o Options) ([]webhook.Secret, activities.Links, error) {
	env := o.env()
	secrets, err := config.Source{Env: env}.WebhookSecrets()
	if err != nil {
		return nil, activities.Links{}, err
	}
	secrets, dev, err := orDevSecret(secrets, DevWebhookSecret)
	if err != nil {
		return nil, activities.Links{}, err
	}
	s.DevWebhookSecret, s.WebhookURL = dev, o.WebhookURL
	if o.WebhookURL == "" {
		if err := s.startReceiver(o.Host, secrets, o.Notices); err != nil {
			return nil, activities.Links{}, err
		}
	}
	links, err := config.Source{Env: config.MapEnv{config.EnvApprovalLinkTTL: envValue(env, config.EnvApprovalLinkTTL),
		config.EnvDecisionSigningKeyFile: s.SigningKeyPath, config.EnvPublicAPIURL: s.APIURL}}.Links()
	return secrets, links, err
}

// envValue is the variable's value in env, or empty.
func envValue(env config.Env, name string) string {
	v, _ := env.LookupEnv(name)
	return v
}

// notificationsLine is the banner's line about notifications.
func notificationsLine(s *Stack) string {
	where := s.WebhookURL
	if s.Receiver != nil {
		where += " (the stack's own receiver: it verifies and prints each)"
	}
	if s.DevWebhookSecret {
		return where + ", signed with the dev secret " + DevWebhookSecret
	}
	return where + ", signed with your " + config.EnvWebhookSecret + "(_FILE)"
}
