package stack

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/workflows"
)

// PrintBanner writes every address of s, the dev credentials and example commands.
func PrintBanner(w io.Writer, s *Stack) {
	t := s.Temporal
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
	fmt.Fprintln(w, "\nOffboard devstack is running")
	line("Temporal server", t.Address+"  (namespace "+t.Namespace+", "+t.Persistence+")")
	if t.UIURL != "" {
		line("Temporal Web UI", t.UIURL+"/namespaces/"+t.Namespace+"/workflows")
	}
	line("HR API", s.APIURL)
	line("HR events", eventsLine(s))
	line("Genesys emulator", s.EmulatorURL+"  (OAuth client "+emulator.DevClientID+" / "+emulator.DevClientSecret+")")
	if s.MetricsURL != "" {
		line("Worker metrics", s.MetricsURL+"/metrics")
	}
	line("Export bundles", s.ExportDir)
	payloadLines(line, s)
	if s.Policy.UnsignedDecisions {
		line("Decisions", "UNSIGNED DECISIONS ALLOWED: anyone who reaches Temporal decides as anyone (development only)")
	} else {
		line("Decisions", "need a credential signed by key "+s.Signer.KeyID()+" ("+s.SigningKeyPath+")")
	}
	line("Notifications", notificationsLine(s))
	tw.Flush()

	fmt.Fprintln(w, "\nPolicy in force (dev defaults under your OFFBOARD_* variables and OFFBOARD_POLICY_FILE):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range config.PolicyValues(s.Policy) {
		if v.Value != "" && v.Key != "decisionKeys" {
			fmt.Fprintf(tw, "  %s\t%s\t(%s)\n", v.Key, v.Value, v.Env)
		}
	}
	if s.WebhookURL != "" {
		fmt.Fprintf(tw, "  notifications\t%s\t(%s)\n", "on", config.EnvWebhookURL)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nDev tokens of the HR API (Authorization: Bearer <token>):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, tok := range DevTokens() {
		fmt.Fprintf(tw, "  %s\trole %s\tidentity %s\n", tok.Secret(), tok.Role, tok.Identity)
	}
	tw.Flush()

	// The demo offboards the first fitting user, so the examples name the last one.
	user := "<userId>"
	for _, u := range slices.Backward(s.Emulator.SeedUsers()) {
		if u.State == "active" && u.Conversations > 0 {
			user = u.ID
			break
		}
	}
	fmt.Fprintf(w, `
Try it:
  curl -s %[1]s/emulator/v1/users | head -c 400                       # seeded users
  curl -s -H 'Authorization: Bearer %[2]s' -H 'Content-Type: application/json' \
       -d '{"userId":"%[3]s","disposition":"delete","retention":"PT15S","reason":"left","hrEventId":"hr-1"}' \
       %[4]s/v1/offboardings
  curl -s -H 'Authorization: Bearer %[5]s' %[4]s/v1/offboardings/%[3]s
  curl -s -H 'Authorization: Bearer %[6]s' -H 'Content-Type: application/json' \
       -d '{"decision":"approve","comment":"ok"}' %[4]s/v1/offboardings/%[3]s/approvals
  TEMPORAL_ADDRESS=%[7]s %[10]sgo run ./starter status %[3]s
  temporal workflow show --address %[7]s -w %[8]s --codec-endpoint %[11]s --codec-auth 'Bearer %[5]s'

Approve from the Temporal UI or CLI: get a credential, then send {"credential": "..."} as the
approve update's or signal's input:
  curl -s -H 'Authorization: Bearer %[6]s' -H 'Content-Type: application/json' \
       -d '{"action":"approve"}' %[4]s/v1/offboardings/%[3]s/credentials
  temporal workflow update execute --address %[7]s -w %[8]s --name approve --input '{"credential":"<credential>"}'

Press Ctrl-C to stop. Runs survive a restart (%[9]s).
`, s.EmulatorURL, TokenHR, user, s.APIURL, TokenAuditor, TokenAlice, t.Address, workflows.WorkflowID(user), t.Persistence, keysHint(s), s.CodecURL)
}
