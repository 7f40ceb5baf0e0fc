//go:build !unix

package wechat

import (
	"runtime/metrics"
	"time"
)

// cpuTime returns the CPU time the Go runtime estimates the process has used (the OS figure
// is read on unix systems).
func cpuTime() time.Duration {
	s := []metrics.Sample{{Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/cpu/classes/idle:cpu-seconds"}}
	metrics.Read(s)
	return time.Duration((s[0].Value.Float64() - s[1].Value.Float64()) * float64(time.Second))
}
