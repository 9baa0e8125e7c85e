package workerproc

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"

	"github.com/offboard/offboard/genesys"
)

// priorityInterceptor hands each activity's Temporal task priority to its Genesys requests, so
// that the worker's limiter serves them in the order Temporal's matching does: access-ending
// calls before export calls, then earlier runs before later ones.
type priorityInterceptor struct {
	interceptor.WorkerInterceptorBase
}

func (*priorityInterceptor) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &priorityInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type priorityInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (p *priorityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	return p.Next.ExecuteActivity(genesys.WithPriority(ctx, requestPriority(activity.GetInfo(ctx))), in)
}

// requestPriority is the priority of an activity's Genesys requests: its task priority, then its
// run, whose ID (a UUIDv7 from Temporal's server) sorts by when the run began, so that the runs
// that began first finish first. An activity's own schedule time would not do: each step of a
// run is scheduled anew, so the laggards would always go first and every run would advance in
// lockstep.
func requestPriority(info activity.Info) genesys.Priority {
	return genesys.Priority{Key: info.Priority.PriorityKey, Order: info.WorkflowExecution.RunID}
}
