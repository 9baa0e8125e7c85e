package stack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/workflows"
)

// Test_GivenARestartOnTheSameDataDir_ShouldKeepRunsAndSearchAttributes starts the server with
// its UI on free ports, starts a workflow, restarts on the same directory and finds it again.
func Test_GivenARestartOnTheSameDataDir_ShouldKeepRunsAndSearchAttributes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()

	first, err := StartTemporal(ctx, TemporalOptions{DataDir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = first.Stop() })
	require.FileExists(t, first.DBPath)

	c, err := first.Dial(ctx, nil)
	require.NoError(t, err)
	requireSearchAttributes(ctx, t, c)

	// No worker runs: the execution stays open, which is all this test needs.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    workflows.WorkflowID("restart-check"),
		TaskQueue:             "devstack-test",
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword(workflows.SAGenesysUserID).ValueSet("u-1")),
	}, workflows.WorkflowType, workflows.Request{UserID: "u-1"})
	require.NoError(t, err)
	c.Close()

	resp, err := http.Get(first.UIURL + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, strings.ToLower(string(body)), "<html")

	require.NoError(t, first.Stop())

	second, err := StartTemporal(ctx, TemporalOptions{DataDir: dir, NoUI: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Stop() })
	c, err = second.Dial(ctx, nil)
	require.NoError(t, err)
	defer c.Close()
	requireSearchAttributes(ctx, t, c)

	desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), "")
	require.NoError(t, err)
	require.Equal(t, run.GetRunID(), desc.GetWorkflowExecutionInfo().GetExecution().GetRunId())
	require.Eventually(t, func() bool {
		list, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: workflows.SAGenesysUserID + " = 'u-1'",
		})
		return err == nil && len(list.GetExecutions()) == 1
	}, 10*time.Second, 100*time.Millisecond, "the run is found by its search attribute after restart")
}

func Test_GivenATemporalPortInUse_ShouldNameThePortAndTheFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	_, err = StartTemporal(context.Background(), TemporalOptions{Port: port, NoUI: true, PortFlag: "--temporal-port"})
	var inUse *PortInUseError
	require.True(t, errors.As(err, &inUse), "got %v", err)
	require.Contains(t, err.Error(), ln.Addr().String())
	require.Contains(t, err.Error(), "--temporal-port")
}

func requireSearchAttributes(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: DefaultNamespace})
	require.NoError(t, err)
	for name, typ := range workflows.SearchAttributes() {
		require.Equal(t, typ, resp.GetCustomAttributes()[name], "search attribute %s", name)
	}
}
