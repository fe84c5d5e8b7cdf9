package metrics

import "github.com/prometheus/client_golang/prometheus"

// funcCollector reports metrics read at scrape time from counters another
// package keeps (DHCP and TFTP count with atomics of their own).
type funcCollector struct {
	desc  *prometheus.Desc
	vtype prometheus.ValueType
	read  func(emit func(v float64, labelValues ...string))
}

func (c funcCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c funcCollector) Collect(ch chan<- prometheus.Metric) {
	c.read(func(v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(c.desc, c.vtype, v, lv...)
	})
}

// AddCounters registers a counter family whose values read reports on
// each scrape, one emit per label combination.
func (m *Metrics) AddCounters(name, help string, labels []string, read func(emit func(v float64, labelValues ...string))) {
	m.Registry.MustRegister(funcCollector{prometheus.NewDesc(name, help, labels, nil), prometheus.CounterValue, read})
}

// AddGauge registers a gauge whose value read returns on each scrape.
func (m *Metrics) AddGauge(name, help string, read func() float64) {
	m.Registry.MustRegister(funcCollector{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue,
		func(emit func(float64, ...string)) { emit(read()) }})
}
