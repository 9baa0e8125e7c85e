package deploy_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The worker's tests check that the dashboard's queries name only metrics the worker exports
// (internal/workerproc); this one checks that Grafana can import it anywhere.
func Test_GivenTheGrafanaDashboard_ShouldImportWithAnyPrometheus(t *testing.T) {
	raw, err := os.ReadFile("grafana/offboard-dashboard.json")
	require.NoError(t, err)
	var d struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name, Type, Query string
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource *struct {
				Type, UID string
			} `json:"datasource"`
			GridPos *struct{ X, Y, W, H int } `json:"gridPos"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	assert.NotEmpty(t, d.UID)
	assert.NotEmpty(t, d.Title)
	require.Len(t, d.Templating.List, 1)
	assert.Equal(t, "datasource", d.Templating.List[0].Type, "the Prometheus data source is chosen on import, not hard-coded")
	assert.Equal(t, "prometheus", d.Templating.List[0].Query)

	ids := map[int]bool{}
	for _, p := range d.Panels {
		assert.False(t, ids[p.ID], "panel id %d repeats", p.ID)
		ids[p.ID] = true
		require.NotNil(t, p.GridPos, "panel %q has no position", p.Title)
		if p.Type == "row" {
			continue
		}
		require.NotNil(t, p.Datasource, "panel %q has no data source", p.Title)
		assert.Equal(t, "${"+d.Templating.List[0].Name+"}", p.Datasource.UID, "panel %q", p.Title)
		assert.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			assert.NotEmpty(t, tg.Expr, "panel %q query %s", p.Title, tg.RefID)
		}
	}
}
