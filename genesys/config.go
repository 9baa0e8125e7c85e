package genesys

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by ConfigFromEnv. The names are those of Genesys's CX-as-Code
// (Terraform) provider, so one set of credentials serves both tools.
const (
	EnvClientID          = "GENESYSCLOUD_OAUTHCLIENT_ID"
	EnvClientSecret      = "GENESYSCLOUD_OAUTHCLIENT_SECRET"
	EnvRegion            = "GENESYSCLOUD_REGION"
	EnvAPIURL            = "GENESYSCLOUD_API_URL"
	EnvRequestsPerMinute = "GENESYSCLOUD_REQUESTS_PER_MINUTE"
)

// Defaults applied by Config.withDefaults.
const (
	DefaultRequestsPerMinute = 300
	DefaultTimeout           = 30 * time.Second
	DefaultPageSize          = 100
)

// Secret is a credential. Every way of printing, logging or marshalling it shows a placeholder;
// Reveal returns the real value and is meant only for the login request.
type Secret string

const redacted = "[REDACTED]"

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret under %#v.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue redacts the secret in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON redacts the secret in JSON, including Temporal payloads.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// Config is what New needs to reach a Genesys Cloud org (or the emulator).
type Config struct {
	// ClientID and ClientSecret are an OAuth client-credentials grant.
	ClientID     string `json:"clientId"`
	ClientSecret Secret `json:"clientSecret"`
	// Region is a Genesys Cloud domain such as "mypurecloud.com" or "mypurecloud.ie", or an AWS
	// region name such as "eu-west-1"; it selects https://api.<domain>. APIURL, when set, wins.
	Region string `json:"region,omitempty"`
	// APIURL is any API base URL, e.g. the emulator's http://127.0.0.1:9090.
	APIURL string `json:"apiUrl,omitempty"`
	// RequestsPerMinute is this process's request rate while Genesys reports no rate-limit count,
	// and the share a new process starts from (default 300, the Genesys per-client limit).
	RequestsPerMinute int `json:"requestsPerMinute,omitempty"`
	// FleetRequestsPerMinute is the budget of every process that shares the OAuth client: the
	// client's count that Genesys reports stays under it (default RequestsPerMinute, one process).
	FleetRequestsPerMinute int `json:"fleetRequestsPerMinute,omitempty"`
	// Timeout bounds each HTTP request (default 30 s).
	Timeout time.Duration `json:"timeout,omitempty"`
	// PageSize is the conversation-details query and job-results page size used when a caller
	// passes 0 (default 100; Genesys does not document the query's maximum).
	PageSize int `json:"pageSize,omitempty"`
}

// regionDomains maps the AWS region names that Genesys Cloud also accepts to API domains.
var regionDomains = map[string]string{
	"us-east-1":      "mypurecloud.com",
	"us-east-2":      "use2.us-gov-pure.cloud",
	"us-west-2":      "usw2.pure.cloud",
	"ca-central-1":   "cac1.pure.cloud",
	"sa-east-1":      "sae1.pure.cloud",
	"eu-west-1":      "mypurecloud.ie",
	"eu-west-2":      "euw2.pure.cloud",
	"eu-central-1":   "mypurecloud.de",
	"eu-central-2":   "euc2.pure.cloud",
	"me-central-1":   "mec1.pure.cloud",
	"ap-south-1":     "aps1.pure.cloud",
	"ap-southeast-2": "mypurecloud.com.au",
	"ap-northeast-1": "mypurecloud.jp",
	"ap-northeast-2": "apne2.pure.cloud",
	"ap-northeast-3": "apne3.pure.cloud",
}

// ConfigFromEnv reads the GENESYSCLOUD_* variables and validates the result.
func ConfigFromEnv() (Config, error) {
	cfg := Config{
		ClientID:     strings.TrimSpace(os.Getenv(EnvClientID)),
		ClientSecret: Secret(strings.TrimSpace(os.Getenv(EnvClientSecret))),
		Region:       strings.TrimSpace(os.Getenv(EnvRegion)),
		APIURL:       strings.TrimSpace(os.Getenv(EnvAPIURL)),
	}
	if v := strings.TrimSpace(os.Getenv(EnvRequestsPerMinute)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a positive whole number of requests per minute, e.g. 300", EnvRequestsPerMinute, v)
		}
		cfg.RequestsPerMinute = n
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg.withDefaults(), nil
}

// Validate reports every problem with the configuration, naming the variable that fixes it.
func (c Config) Validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, fmt.Errorf("%s is empty: set it to the ID of an OAuth client-credentials client (Admin > Integrations > OAuth)", EnvClientID))
	}
	if c.ClientSecret == "" {
		errs = append(errs, fmt.Errorf("%s is empty: set it to that OAuth client's secret", EnvClientSecret))
	}
	if _, err := c.BaseURL(); err != nil {
		errs = append(errs, err)
	}
	if c.RequestsPerMinute < 0 {
		errs = append(errs, fmt.Errorf("%s=%d: want a positive number, e.g. 300", EnvRequestsPerMinute, c.RequestsPerMinute))
	}
	if c.FleetRequestsPerMinute < 0 {
		errs = append(errs, fmt.Errorf("fleet budget %d requests a minute is negative: want a positive number, e.g. 300", c.FleetRequestsPerMinute))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative: use a positive duration such as 30s", c.Timeout))
	}
	if c.PageSize < 0 {
		errs = append(errs, fmt.Errorf("page size %d is negative: use a positive size such as 100", c.PageSize))
	}
	return errors.Join(errs...)
}

// BaseURL is the API base URL: APIURL if set, else https://api.<Region domain>.
func (c Config) BaseURL() (string, error) {
	if c.APIURL != "" {
		u, err := url.Parse(c.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("%s=%q: want an absolute http(s) URL such as https://api.mypurecloud.com or http://127.0.0.1:9090", EnvAPIURL, c.APIURL)
		}
		return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
	}
	region := strings.ToLower(strings.TrimSpace(c.Region))
	if region == "" {
		return "", fmt.Errorf("neither %s nor %s is set: set %s to your org's domain (e.g. mypurecloud.com, mypurecloud.ie) or %s to a base URL (e.g. the emulator's http://127.0.0.1:9090)", EnvRegion, EnvAPIURL, EnvRegion, EnvAPIURL)
	}
	if d, ok := regionDomains[region]; ok {
		region = d
	}
	region = strings.TrimPrefix(strings.TrimPrefix(region, "https://"), "api.")
	if !strings.Contains(region, ".") || strings.ContainsAny(region, "/:@ ") {
		return "", fmt.Errorf("%s=%q: want a Genesys Cloud domain such as mypurecloud.com or mypurecloud.ie, or a region such as eu-west-1", EnvRegion, c.Region)
	}
	return "https://api." + region, nil
}

func (c Config) withDefaults() Config {
	if c.RequestsPerMinute == 0 {
		c.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if c.FleetRequestsPerMinute == 0 {
		c.FleetRequestsPerMinute = c.RequestsPerMinute
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	return c
}
