package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/buildinfo"
)

// buildInfo is berth_build_info{version,revision,goversion} 1: which build
// a replica runs (buildinfo.Read; "(devel)" and "unknown" when the binary
// does not record it).
func buildInfo() prometheus.Collector {
	info := buildinfo.Read()
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns,
		Name:      "build_info",
		Help:      "1, labelled with the version, VCS revision and Go version berth was built from.",
		ConstLabels: prometheus.Labels{
			"version":   info.Version,
			"revision":  info.Revision,
			"goversion": info.GoVersion,
		},
	}, func() float64 { return 1 })
}
