// Package menus owns bootwright's menu and machine definitions: the YAML
// files under menus/ (embedded defaults, layered under a user's config
// directory), the boot entries generated from the assets directory, and
// the resolution of one machine's menu, variables and kernel arguments.
//
// Files:
//
//	menus/<name>.yaml   a menu: title, timeout, default entry, entries
//	menus/machines.yaml global vars and machines (MAC, name, menu,
//	                    default entry, timeout, extra kernel args, vars)
//
// Everything is checked at load: a mistake is reported as file:line and
// the previous configuration keeps serving.
package menus
