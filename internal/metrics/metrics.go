// Package metrics holds bootwright's Prometheus registry and the metrics
// shared across packages, served at /metrics.
package metrics

import (
	"net/http"
	"strconv"
	"time"

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
	// HTTPRequests counts HTTP requests by route pattern and status.
	HTTPRequests *prometheus.CounterVec
	// HTTPDuration times HTTP requests by route pattern.
	HTTPDuration *prometheus.HistogramVec
	// RenderErrors counts menus and files that failed to render, by kind.
	RenderErrors *prometheus.CounterVec
	// BootStages times the steps of network boots (see ObserveEvent).
	BootStages *prometheus.HistogramVec

	stages stageTracker
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
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bootwright_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bootwright_http_request_duration_seconds",
			Help:    "HTTP request durations by route (downloads included).",
			Buckets: []float64{.0005, .001, .005, .01, .05, .1, .5, 1, 5, 30, 120},
		}, []string{"route"}),
		RenderErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bootwright_render_errors_total",
			Help: "Menus, boot scripts and per-machine files that failed to render, by kind.",
		}, []string{"kind"}),
		BootStages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bootwright_boot_stage_seconds",
			Help:    "Time between consecutive steps of a network boot (dhcp, tftp, menu, asset, file, callback).",
			Buckets: []float64{.1, .5, 1, 2, 5, 10, 30, 60, 300, 900, 1800, 3600},
		}, []string{"from", "to"}),
	}
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.ConfigReloads, m.ConfigOK, m.HTTPRequests, m.HTTPDuration, m.RenderErrors, m.BootStages)
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

// HTTP records one request.
func (m *Metrics) HTTP(route string, code int, d time.Duration) {
	if route == "" {
		route = "other"
	}
	m.HTTPRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.HTTPDuration.WithLabelValues(route).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
