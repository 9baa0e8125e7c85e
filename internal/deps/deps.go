//go:build tools

package deps

import (
	_ "github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
	_ "github.com/stretchr/testify/require"
	_ "github.com/temporalio/ui-server/v2/server"
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/sdk/contrib/envconfig"
	_ "go.temporal.io/server/temporaltest"
	_ "gocloud.dev/blob"
)
