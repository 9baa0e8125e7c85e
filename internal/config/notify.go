package config

import (
	"errors"
	"fmt"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/webhook"
)

// WebhookSecrets reads the secrets that sign notifications from OFFBOARD_WEBHOOK_SECRET_FILE or
// OFFBOARD_WEBHOOK_SECRET: whsec_ secrets, the first of which signs. None set is no error here;
// the worker refuses to start with a webhook URL and none. Errors never show a secret.
func (s Source) WebhookSecrets() ([]webhook.Secret, error) {
	return s.webhookSecrets(EnvWebhookSecretFile, EnvWebhookSecret)
}

// Links reads what approval links need: the worker's decision signing key (nil when unset), the
// public HR API URL (empty when unset) and the links' lifetime, which the credentials bound.
func (s Source) Links() (activities.Links, error) {
	var errs [3]error
	var l activities.Links
	l.Signer, errs[0] = s.Signer(activities.WorkerIssuer)
	l.PublicAPIURL, errs[1] = s.URL(EnvPublicAPIURL, "", "http", "https")
	l.TTL, errs[2] = s.Duration(EnvApprovalLinkTTL, activities.DefaultLinkTTL)
	if errs[2] == nil && (l.TTL <= 0 || l.TTL > credential.MaxTTL) {
		_, label, _ := s.get(EnvApprovalLinkTTL)
		errs[2] = fmt.Errorf("%s=%s: want a positive duration of at most %s, the longest a decision credential lives", label, l.TTL, credential.MaxTTL)
	}
	return l, errors.Join(errs[:]...)
}
