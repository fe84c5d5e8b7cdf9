package main

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/httpboot"
)

func rl(perSecond float64, burst int) httpboot.RateLimit {
	return httpboot.RateLimit{PerSecond: perSecond, Burst: burst}
}

func TestHTTPFlags(t *testing.T) {
	tests := map[string]struct {
		flags httpFlags
		want  httpConfig
		bad   bool
	}{
		"defaults":        {httpFlags{"20GiB", 8, 10}, httpConfig{20 << 30, 8, rl(10, 20)}, false},
		"plain bytes":     {httpFlags{"1048576", 1, 10}, httpConfig{1 << 20, 1, rl(10, 20)}, false},
		"mebibytes":       {httpFlags{"512MiB", 2, 10}, httpConfig{512 << 20, 2, rl(10, 20)}, false},
		"no stream cap":   {httpFlags{"1TiB", 0, 10}, httpConfig{1 << 40, -1, rl(10, 20)}, false},
		"zero size":       {httpFlags{"0", 8, 10}, httpConfig{}, true},
		"unknown unit":    {httpFlags{"20GB", 8, 10}, httpConfig{}, true},
		"negative":        {httpFlags{"-1GiB", 8, 10}, httpConfig{}, true},
		"overflow":        {httpFlags{"99999999999TiB", 8, 10}, httpConfig{}, true},
		"negative stream": {httpFlags{"1GiB", -1, 10}, httpConfig{}, true},
		"api rate":        {httpFlags{"1GiB", 8, 2.5}, httpConfig{1 << 30, 8, rl(2.5, 5)}, false},
		"slow api rate":   {httpFlags{"1GiB", 8, 0.1}, httpConfig{1 << 30, 8, rl(0.1, 1)}, false},
		"no api limit":    {httpFlags{"1GiB", 8, 0}, httpConfig{1 << 30, 8, rl(-1, 0)}, false},
		"negative rate":   {httpFlags{"1GiB", 8, -1}, httpConfig{}, true},
		"NaN rate":        {httpFlags{"1GiB", 8, math.NaN()}, httpConfig{}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.flags.build()
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, want error %v", err, tc.bad)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(httpConfig{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
