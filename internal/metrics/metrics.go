// Package metrics holds Sealpost's Prometheus metrics. Each server has its
// own registry (no global state), exposed on the admin listener at /metrics
// in the Prometheus text format.
package metrics

import (
	"net/http"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of metrics one server exports.
type Metrics struct {
	Registry *prometheus.Registry

	// Connections counts accepted connections per listener.
	Connections *prometheus.CounterVec
	// HTTPRequests counts HTTP requests per listener and status code.
	HTTPRequests *prometheus.CounterVec
}

// New creates a registry with the Go runtime and process collectors and
// Sealpost's own metrics.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealpost_connections_total",
			Help: "Connections accepted, by listener.",
		}, []string{"listener"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealpost_http_requests_total",
			Help: "HTTP requests served, by listener and status code.",
		}, []string{"listener", "code"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sealpost_build_info",
		Help: "Build information; the value is always 1.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(Version(), goVersion()).Set(1)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Connections, m.HTTPRequests, build,
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Version is the module version of the running binary, or "devel".
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}
