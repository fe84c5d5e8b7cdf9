package bootconfig

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bootwright/bootwright/menus"
)

func TestPlaintextSecrets(t *testing.T) {
	c, err := menus.Load(fstest.MapFS{
		"menus/default.yaml": {Data: []byte("entries:\n  - {name: local, type: local}\n")},
		"menus/machines.yaml": {Data: []byte(`vars:
  root_password: hunter2
  root_password_hash: "$6$salt$hash"
  user_password: "!"
  timezone: UTC
groups:
  - {name: lab, vars: {windows_product_key: ABCDE-12345}}
machines:
  - {mac: "52:54:00:00:00:01", name: n1, vars: {api_token: t0k3n, user_password_hash: "$y$j9T$x"}}
`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(plaintextSecrets(c), "\n")
	for _, want := range []string{`vars: variable "root_password"`, `group lab: variable "windows_product_key"`, `machine n1: variable "api_token"`} {
		if !strings.Contains(got, want) {
			t.Errorf("no warning %q in:\n%s", want, got)
		}
	}
	for _, fine := range []string{"root_password_hash", "user_password\"", "timezone", "user_password_hash"} {
		if strings.Contains(got, fine) {
			t.Errorf("false warning for %s:\n%s", fine, got)
		}
	}
}
