package bootconfig

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/bootwright/bootwright/menus"
)

// secretKey matches variable names that usually hold a secret.
var secretKey = regexp.MustCompile(`(?i)(pass(word|wd)?|secret|token|product_key|api_key|psk)$`)

// cryptHash matches values that are already hashes (crypt(3) formats) or
// locked-account markers, which are fine to keep in git.
var cryptHash = regexp.MustCompile(`^(\$(1|5|6|y|gy|7|2[aby]|argon2(id|i|d)?)\$.+|[!*]+.*)$`)

// plaintextSecrets lists variables that look like secrets kept in clear
// in the config tree: a name like root_password with a value that is not
// a crypt hash. They belong in --secrets-dir, read with .Secret.
func plaintextSecrets(c *menus.Config) []string {
	var out []string
	check := func(where string, vars map[string]any) {
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, ok := vars[k].(string)
			if !ok || v == "" || !secretKey.MatchString(k) || cryptHash.MatchString(v) {
				continue
			}
			out = append(out, fmt.Sprintf("%s/%s: %s: variable %q looks like a plaintext secret; keep it in --secrets-dir and use {{ .Secret %q }} (or a crypt hash)",
				menus.Dir, menus.MachinesFile, where, k, k))
		}
	}
	check("vars", c.Vars)
	for _, g := range c.Groups {
		check("group "+g.Name, g.Vars)
	}
	for _, m := range c.MachineList() {
		check("machine "+m.Name, m.Vars)
	}
	return out
}
