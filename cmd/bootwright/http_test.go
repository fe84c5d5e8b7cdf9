package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHTTPFlags(t *testing.T) {
	tests := map[string]struct {
		flags httpFlags
		want  httpConfig
		bad   bool
	}{
		"defaults":        {httpFlags{"20GiB", 8}, httpConfig{20 << 30, 8}, false},
		"plain bytes":     {httpFlags{"1048576", 1}, httpConfig{1 << 20, 1}, false},
		"mebibytes":       {httpFlags{"512MiB", 2}, httpConfig{512 << 20, 2}, false},
		"no stream cap":   {httpFlags{"1TiB", 0}, httpConfig{1 << 40, -1}, false},
		"zero size":       {httpFlags{"0", 8}, httpConfig{}, true},
		"unknown unit":    {httpFlags{"20GB", 8}, httpConfig{}, true},
		"negative":        {httpFlags{"-1GiB", 8}, httpConfig{}, true},
		"overflow":        {httpFlags{"99999999999TiB", 8}, httpConfig{}, true},
		"negative stream": {httpFlags{"1GiB", -1}, httpConfig{}, true},
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
