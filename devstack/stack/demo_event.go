package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/offboard/offboard/internal/webhook"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// start asks for the demo's offboarding as HR systems do: a signed HR event that names the person
// by email, which the HR API resolves through the Genesys users search, sent twice to show that a
// redelivery starts nothing. With the operator's own event secrets, which the demo does not hold,
// it posts the request as the HR token instead.
func (d *demo) start(ctx context.Context) (hrapi.StartResult, error) {
	rec, ok := d.s.Emulator.User(d.userID)
	if d.s.EventSecret == "" || !ok || rec.Email == "" {
		how := "POST /v1/offboardings as " + IdentityHR
		res, err := d.hr.Start(ctx, hrapi.OffboardingRequest{
			UserID: d.userID, Disposition: string(workflows.DispositionDelete), Retention: d.o.Retention,
			Reason: "devstack demo", HREventID: "devstack-demo-" + d.userID,
		})
		return res, d.started(how, res, err)
	}
	secret, err := webhook.ParseSecret(d.s.EventSecret)
	if err != nil {
		return hrapi.StartResult{}, err
	}
	event, err := json.Marshal(hrapi.StructuredEvent{
		SpecVersion: "1.0", ID: "devstack-demo-" + d.userID, Source: "/devstack/demo/hr", Type: hrapi.EventTypeTerminated,
		DataContentType: "application/json",
		Data:            hrapi.EventData{Email: rec.Email, Disposition: string(workflows.DispositionDelete), Retention: d.o.Retention, Reason: "devstack demo"},
	})
	if err != nil {
		return hrapi.StartResult{}, err
	}
	how := fmt.Sprintf("POST /v1/events %s naming %s by email (signed, as %s)", hrapi.EventTypeTerminated, rec.Email, hrapi.EventRequester)
	public := hrclient.New(d.s.APIURL, "", nil)
	res, err := public.SendEvent(ctx, event, secret, "msg-"+d.userID+"-1")
	if err := d.started(how, res, err); err != nil {
		return res, err
	}
	again, err := public.SendEvent(ctx, event, secret, "msg-"+d.userID+"-1")
	if err != nil || !again.Existing || again.RunID != res.RunID {
		return res, fmt.Errorf("the redelivered HR event answered %+v, %v; want %d with the run it started", again, err, http.StatusOK)
	}
	d.say("HR event redelivered (same webhook-id, fresh signature) -> 200, the same run: nothing new started")
	return res, nil
}

// started narrates the answer to how, which must have started a new run.
func (d *demo) started(how string, res hrapi.StartResult, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", how, err)
	}
	if res.Existing {
		return fmt.Errorf("%s answered %d, want 202 (a new run)", how, http.StatusOK)
	}
	d.say("%s -> 202 %s run %s", how, res.WorkflowID, res.RunID)
	return nil
}
