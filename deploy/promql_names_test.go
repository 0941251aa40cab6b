package deploy_test

import (
	"slices"
	"testing"
)

func TestMetricNamesOfExpressions(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`up{job="hookd"} == 0`, []string{"up"}},
		{`hookd_ready == 0`, []string{"hookd_ready"}},
		{`max by (job) (hookd_deliveries_oldest_pending_age_seconds{job=~"$job"}) > 900`,
			[]string{"hookd_deliveries_oldest_pending_age_seconds"}},
		{`histogram_quantile(0.99, sum by (le, route) (rate(hookd_http_request_duration_seconds_bucket{route!~"a|b"}[$__rate_interval])))`,
			[]string{"hookd_http_request_duration_seconds_bucket"}},
		{`sum without (instance) (rate(a_total[5m] offset 1h)) / on (job) group_left (version) b_info`,
			[]string{"a_total", "b_info"}},
		{`sum(rate(x_total{code=~"5..", path="{weird}"}[5m])) / sum(rate(x_total[5m])) > 0.01 and bool y`,
			[]string{"x_total", "y"}},
		{`rate(z_total[${__range}]) * 1e3 + 0x1f - .5`, []string{"z_total"}},
		{`vector(1)`, nil},
	} {
		got, err := metricNames(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("metricNames(%s) = %v, want %v", c.expr, got, c.want)
		}
	}
	if _, err := metricNames(`sum(rate(x{a="b"[5m]))`); err == nil {
		t.Error("an unbalanced expression gave no error")
	}
}

func TestTemplateExprOfGrafanaVariables(t *testing.T) {
	for q, want := range map[string]string{
		`label_values(hookd_build_info, job)`:                   `hookd_build_info`,
		`label_values(hookd_build_info{job=~"$job"}, instance)`: `hookd_build_info{job=~"$job"}`,
		`query_result(max(hookd_deliveries))`:                   `max(hookd_deliveries)`,
		`hookd_build_info`:                                      `hookd_build_info`,
	} {
		if got := templateExpr(q); got != want {
			t.Errorf("templateExpr(%s) = %q, want %q", q, got, want)
		}
	}
}
