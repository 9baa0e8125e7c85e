package genesys

import "time"

// WithRateLimitWindow sets the length of Genesys's rate-limit window (a minute), for tests against
// an emulator whose windows are shorter.
func WithRateLimitWindow(d time.Duration) Option { return func(c *SDKClient) { c.limiter.length = d } }
