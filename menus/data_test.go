package menus

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// List is what templates range over: a number must fail, not become
// 0..N-1 (packages: 1000000000000 hung the render; found by FuzzRender).
func TestList(t *testing.T) {
	d := &Data{Vars: map[string]any{
		"keys": []any{"ssh-ed25519 A", "ssh-rsa B"}, "typed": []string{"vim"}, "null": nil,
		"count": 1000000000000, "one": "ssh-ed25519 A", "map": map[string]any{"vim": true},
	}}
	tests := map[string]struct {
		variable string
		want     []any
		wantErr  string
	}{
		"list":       {variable: "keys", want: []any{"ssh-ed25519 A", "ssh-rsa B"}},
		"typed list": {variable: "typed", want: []any{"vim"}},
		"unset":      {variable: "nope"},
		"null":       {variable: "null"},
		"number":     {variable: "count", wantErr: `variable "count" must be a list such as [a, b], not int`},
		"string":     {variable: "one", wantErr: `variable "one" must be a list such as [a, b], not string`},
		"map":        {variable: "map", wantErr: `variable "map" must be a list such as [a, b], not map[string]interface {}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := d.List(tc.variable)
			if gotErr := errString(err); gotErr != tc.wantErr {
				t.Fatalf("err = %q, want %q", gotErr, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
