// Package yamlconf decodes the YAML files an operator writes (menus/*.yaml,
// menus/machines.yaml, --dhcp-config) strictly, with errors in YAML terms:
// each starts with "file:line: ", and a key nothing reads is named with
// the mapping it sits in and the keys allowed there, not yaml.v3's Go
// field and type names.
package yamlconf
