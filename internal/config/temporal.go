package config

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// Dialer connects to Temporal; client.DialContext is one.
type Dialer func(ctx context.Context, opts client.Options) (client.Client, error)

// ConnectTemporal dials Temporal with dial (client.DialContext when nil) and checks that the
// namespace exists, so that an unreachable server and an unknown namespace get the same hint.
// A namespace the caller may not describe is left for the first call to refuse. It refuses
// options without a data converter (Temporal sets DataConverter): nothing is written in clear.
func ConnectTemporal(ctx context.Context, opts client.Options, dial Dialer) (client.Client, error) {
	if opts.DataConverter == nil {
		return nil, fmt.Errorf("refusing to connect to Temporal without payload encryption: set %s or %s", EnvPayloadKeysFile, EnvPayloadKeys)
	}
	hint := func(err error) error {
		return fmt.Errorf("connect to Temporal at %s (namespace %s): %w; check TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE", opts.HostPort, opts.Namespace, err)
	}
	if dial == nil {
		dial = client.DialContext
	}
	tc, err := dial(ctx, opts)
	if err != nil {
		return nil, hint(err)
	}
	ns := opts.Namespace
	if ns == "" {
		ns = client.DefaultNamespace
	}
	_, err = tc.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	var missing *serviceerror.NamespaceNotFound
	if errors.As(err, &missing) {
		tc.Close()
		return nil, hint(err)
	}
	return tc, nil
}
