// Package metrics holds bootwright's Prometheus registry and the metrics
// shared across packages, served at /metrics.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is a registry with bootwright's metrics. Create it with New.
type Metrics struct {
	Registry *prometheus.Registry

	// ConfigReloads counts config reloads by result ("ok", "error").
	ConfigReloads *prometheus.CounterVec
	// ConfigOK is 1 while the last config load succeeded, 0 while the
	// server runs on an older config because the newest one failed.
	ConfigOK prometheus.Gauge
}

// New returns a registry with the Go and process collectors and
// bootwright's own metrics registered.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		ConfigReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bootwright_config_reloads_total",
			Help: "Config reloads by result (ok, error).",
		}, []string{"result"}),
		ConfigOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bootwright_config_last_reload_ok",
			Help: "1 if the last config load passed, 0 if the server still runs an older config.",
		}),
	}
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.ConfigReloads, m.ConfigOK)
	m.ConfigOK.Set(1)
	return m
}

// Reloaded records a config reload attempt.
func (m *Metrics) Reloaded(err error) {
	if err != nil {
		m.ConfigReloads.WithLabelValues("error").Inc()
		m.ConfigOK.Set(0)
		return
	}
	m.ConfigReloads.WithLabelValues("ok").Inc()
	m.ConfigOK.Set(1)
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
